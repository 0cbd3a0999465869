from django.apps import AppConfig


class ErmsConfig(AppConfig):
    name = "erms"
