from django.urls import path

from icenter.desk import views

app_name = "desk"
urlpatterns = [
    path("", views.desk, name="desk"),
    path("call/<int:call_pk>/transfer/", views.transfer, name="transfer"),
    path("call/<int:call_pk>/<slug:action>/", views.call_action, name="call_action"),
    path("dial/", views.dial, name="dial"),
    path("work-item/<int:item_pk>/reject/", views.work_item_reject, name="work_item_reject"),
    path("work-item/<int:item_pk>/wrap-up/", views.wrap_up_code, name="wrap_up_code"),
    path("state/", views.agent_state, name="agent_state"),
    path("notepad/", views.notepad_save, name="notepad_save"),
    path("identify/", views.identify, name="identify"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("simulate/", views.simulate_call, name="simulate_call"),
]
