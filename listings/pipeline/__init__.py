"""The upload pipeline: quarantine → validate → profile → anonymise → publish, on Celery."""
