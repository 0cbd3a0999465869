"""The versioned REST API's router; each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api
from campaigns import api as campaigns_api
from knowledge import api as knowledge_api
from scripting import api as scripting_api
from telephony import api as telephony_api
from telephony import webhook_api

router = DefaultRouter()
router.register("accounts", accounts_api.AccountViewSet, basename="account")
router.register("contacts", accounts_api.ContactViewSet, basename="contact")
router.register("contact-points", accounts_api.ContactPointViewSet, basename="contactpoint")
router.register("interactions", accounts_api.InteractionViewSet, basename="interaction")
router.register("tickets", accounts_api.TicketViewSet, basename="ticket")
router.register("ticket-categories", accounts_api.TicketCategoryViewSet, basename="ticketcategory")
router.register("appointments", accounts_api.AppointmentViewSet, basename="appointment")
router.register("scripts", scripting_api.ScriptViewSet, basename="script")
router.register("script-versions", scripting_api.ScriptVersionViewSet, basename="scriptversion")
router.register("script-runs", scripting_api.ScriptRunViewSet, basename="scriptrun")
router.register("script-answers", scripting_api.ScriptAnswerViewSet, basename="scriptanswer")
router.register("campaigns", campaigns_api.CampaignViewSet, basename="campaign")
router.register("call-lists", campaigns_api.CallListViewSet, basename="calllist")
router.register(
    "knowledge/categories", knowledge_api.CategoryViewSet, basename="knowledge-category"
)
router.register("knowledge/problems", knowledge_api.ProblemViewSet, basename="knowledge-problem")
router.register("knowledge/solutions", knowledge_api.SolutionViewSet, basename="knowledge-solution")
router.register("webhooks", webhook_api.WebhookSubscriptionViewSet, basename="webhook")
router.register("queues", telephony_api.QueueViewSet, basename="queue")
router.register("agents", telephony_api.AgentViewSet, basename="agent")
router.register(
    "agent-state-changes", telephony_api.AgentStateChangeViewSet, basename="agentstatechange"
)
router.register("calls", telephony_api.CallViewSet, basename="call")
router.register("work-items", telephony_api.WorkItemViewSet, basename="workitem")
router.register("callbacks", telephony_api.CallbackViewSet, basename="callback")
