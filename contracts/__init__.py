"""Wire schemas only: msgspec Structs shared by the HTTP edge, adapters and events."""
