"""Strings of Django's own admin templates that Django's Simplified Chinese catalogue does not
translate yet (screen-reader headers of the model list in Django 5.2). Listed here so
makemessages puts them in the project catalogue, which Django consults before its own."""

from django.utils.translation import gettext_noop

DJANGO_ADMIN_STRINGS = [
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
]
