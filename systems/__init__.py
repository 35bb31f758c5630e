"""System-of-record dialects: one folder per vendor (client, mapping, errors, adapter and
its plugin), listed by kind in :mod:`systems.registry`. Simulators live in ``sandboxes``."""
