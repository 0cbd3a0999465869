from django.urls import path

from scripting import views

app_name = "scripting"
urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("start/", views.run_start, name="run_start"),
    path("runs/<int:run_id>/", views.run_show, name="run_show"),
    path("runs/<int:run_id>/answer/", views.run_answer, name="run_answer"),
    path("runs/<int:run_id>/back/", views.run_back, name="run_back"),
    path("runs/<int:run_id>/finish/", views.run_finish, name="run_finish"),
    path("runs/<int:run_id>/abandon/", views.run_abandon, name="run_abandon"),
]
