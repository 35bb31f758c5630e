"""The canonical v2 API: orders gain fulfillment_status; everything else stays on v1."""
