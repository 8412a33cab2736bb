"""Browser pages that belong to no single app: home, sign-up, log-in, language switch."""
