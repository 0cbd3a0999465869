from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("take/", views.entry_take, name="entry_take"),
    path("entries/<int:entry_id>/dial/", views.entry_dial, name="entry_dial"),
    path("entries/<int:entry_id>/close/", views.entry_close, name="entry_close"),
]
