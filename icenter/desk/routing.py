from django.urls import path

from icenter.desk.consumers import DeskConsumer
from telephony.consumers import WallboardConsumer

websocket_urlpatterns = [
    path("ws/desk/", DeskConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
]
