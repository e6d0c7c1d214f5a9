"""What admins see and control outside a chat: API tokens, org-scoped reads and changes,
personal-data export and erasure. No web framework here; bot/admin_api.py serves it."""
