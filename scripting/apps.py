from django.apps import AppConfig


class ScriptingConfig(AppConfig):
    name = "scripting"
