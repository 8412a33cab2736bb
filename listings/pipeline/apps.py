from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "listings.pipeline"
    label = "pipeline"
    verbose_name = "Upload pipeline"
