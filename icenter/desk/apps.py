from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "icenter.desk"
    label = "desk"
    verbose_name = "Agent desktop"
