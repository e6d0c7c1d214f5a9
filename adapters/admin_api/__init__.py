"""The admin API (/api/admin/v1): FastAPI routes over core.admin, behind per-org tokens."""
