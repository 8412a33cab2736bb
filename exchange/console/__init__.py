"""The regulator console: the Django admin, customised for regulators and platform operators."""
