"""The browser as a channel for members reached by email: signed links into the app, the
check-in page, one-click unsubscribe, and SES's bounce and complaint notifications."""
