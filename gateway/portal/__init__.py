"""The developer portal at /portal: catalog, reference, getting started, problem types,
changelog and deprecations, server-rendered and fully offline."""
