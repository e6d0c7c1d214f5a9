"""The dots dashboard: server-rendered pages for an org's admins, signed in by a link."""
