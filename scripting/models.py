"""Interactive call scripts: versioned scripts, their steps, answers, branches and runs.

A script has versions; only a draft changes. Publishing freezes a version (the
services and the admin refuse to change it) and retires the one published before;
every run points at the exact version it used, so a script edited while agents run
it never changes a run under them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Script(models.Model):
    """A call script (survey, lead qualification, troubleshooting, cross-sell offer)."""

    code = models.SlugField(
        _("code"),
        max_length=60,
        unique=True,
        help_text=_("A short unique name used by imports, queues and the API."),
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("script")
        verbose_name_plural = _("scripts")

    def __str__(self) -> str:
        return self.name


class ScriptVersion(models.Model):
    """One version of a script: a draft while managers edit it, then published, then retired."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.DRAFT: frozenset({Status.PUBLISHED}),
        Status.PUBLISHED: frozenset({Status.RETIRED}),
        Status.RETIRED: frozenset(),
    }

    script = models.ForeignKey(
        Script, verbose_name=_("script"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    notes = models.CharField(_("change notes"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        ordering = ["script__name", "-number"]
        verbose_name = _("script version")
        verbose_name_plural = _("script versions")
        constraints = [
            models.UniqueConstraint(fields=["script", "number"], name="scriptversion_unique"),
            models.UniqueConstraint(
                fields=["script"],
                condition=Q(status="published"),
                name="scriptversion_one_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.script.name} v{self.number} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class OfferList(models.Model):
    """A manager-maintained list of products that scripts offer (cross-sell, top-n)."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["name"]
        verbose_name = _("offer list")
        verbose_name_plural = _("offer lists")

    def __str__(self) -> str:
        return self.name


class Offer(models.Model):
    """A product on an offer list; the best-ranked ones that fit the customer are offered."""

    offer_list = models.ForeignKey(
        OfferList, verbose_name=_("offer list"), on_delete=models.CASCADE, related_name="offers"
    )
    name = models.CharField(_("product"), max_length=200)
    pitch = models.CharField(_("pitch"), max_length=300, blank=True)
    rank = models.PositiveIntegerField(
        _("rank"), default=100, help_text=_("Lower ranks are offered first.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    customer_group = models.ForeignKey(
        "accounts.CustomerGroup",
        verbose_name=_("only for customer group"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    vip_only = models.BooleanField(_("VIP customers only"), default=False)

    class Meta:
        ordering = ["offer_list", "rank", "id"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    """One step of a script version: something to say, a question to ask, or the end."""

    class Kind(models.TextChoices):
        INFO = "info", _("Information")
        QUESTION = "question", _("Question")
        END = "end", _("End")

    class AnswerType(models.TextChoices):
        NONE = "", _("(no answer)")
        TEXT = "text", _("Free text")
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        YES_NO = "yes_no", _("Yes / no")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        PHONE = "phone", _("Phone number")
        EMAIL = "email", _("Email address")

    version = models.ForeignKey(
        ScriptVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="steps"
    )
    key = models.SlugField(
        _("key"),
        max_length=60,
        help_text=_("Unique within the version; answers are used as {answers.<key>}."),
    )
    position = models.PositiveIntegerField(
        _("position"), default=0, help_text=_("The first step (lowest position) starts the run.")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.INFO)
    answer_type = models.CharField(
        _("answer type"), max_length=10, choices=AnswerType.choices, blank=True, default=""
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    text = models.TextField(
        _("text"),
        blank=True,
        help_text=_(
            "What the agent says. Placeholders: {account.name}, {contact.full_name}, "
            "{campaign.name}, {answers.<key>} and more."
        ),
    )
    is_required = models.BooleanField(_("answer required"), default=True)
    next_step = models.ForeignKey(
        "self",
        verbose_name=_("next step"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where to go when no answer or condition chooses another step."),
    )
    outcome = models.SlugField(
        _("outcome"),
        max_length=60,
        blank=True,
        help_text=_("End steps: the result of the run, e.g. “satisfied” or “qualified”."),
    )
    offer_list = models.ForeignKey(
        OfferList,
        verbose_name=_("show offers from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    offer_count = models.PositiveSmallIntegerField(_("number of offers"), default=3)

    class Meta:
        ordering = ["version", "position", "id"]
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="step_key_unique"),
        ]

    def __str__(self) -> str:
        return self.key


class Answer(models.Model):
    """A choice offered by a single-choice, multiple-choice or yes/no question."""

    step = models.ForeignKey(
        Step, verbose_name=_("step"), on_delete=models.CASCADE, related_name="answers"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    value = models.SlugField(_("value"), max_length=60)
    label = models.CharField(_("label"), max_length=200)
    next_step = models.ForeignKey(
        Step,
        verbose_name=_("go to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["step", "position", "id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["step", "value"], name="answer_value_unique"),
        ]

    def __str__(self) -> str:
        return self.label


class Branch(models.Model):
    """A condition checked after the step; the first one that holds chooses the next step."""

    class Subject(models.TextChoices):
        ANSWER = "answer", _("An answer")
        ACCOUNT_VIP = "account.is_vip", _("Account is VIP")
        CUSTOMER_GROUP = "account.customer_group", _("Account's customer group")
        CAMPAIGN = "campaign", _("Campaign")

    class Operator(models.TextChoices):
        EQUALS = "equals", _("equals")
        NOT_EQUALS = "not_equals", _("does not equal")
        CONTAINS = "contains", _("contains")
        GREATER = "gt", _("is greater than")
        LESS = "lt", _("is less than")
        IS_TRUE = "is_true", _("is true")
        IS_FALSE = "is_false", _("is false")
        IS_EMPTY = "is_empty", _("is empty")
        NOT_EMPTY = "not_empty", _("is not empty")

    step = models.ForeignKey(
        Step, verbose_name=_("step"), on_delete=models.CASCADE, related_name="branches"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    subject = models.CharField(_("if"), max_length=30, choices=Subject.choices)
    answer_key = models.SlugField(
        _("answer of step"), max_length=60, blank=True, help_text=_("Key of an earlier question.")
    )
    operator = models.CharField(_("operator"), max_length=12, choices=Operator.choices)
    value = models.CharField(_("value"), max_length=200, blank=True)
    next_step = models.ForeignKey(
        Step, verbose_name=_("go to"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["step", "position", "id"]
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")

    def __str__(self) -> str:
        return f"{self.subject} {self.operator} {self.value}"


class StepAction(models.Model):
    """What happens when a run finishes on an end step (see scripting.actions)."""

    class Kind(models.TextChoices):
        CREATE_TICKET = "create_ticket", _("Create a ticket")
        SET_DISPOSITION = "set_disposition", _("Set the call disposition")
        SCHEDULE_CALLBACK = "schedule_callback", _("Schedule a callback")
        MARK_LEAD_QUALIFIED = "mark_lead_qualified", _("Mark the lead qualified")
        OFFER_PRODUCTS = "offer_products", _("Offer products")

    step = models.ForeignKey(
        Step, verbose_name=_("step"), on_delete=models.CASCADE, related_name="actions"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(_("action"), max_length=30, choices=Kind.choices)
    value = models.CharField(
        _("parameter"),
        max_length=200,
        blank=True,
        help_text=_(
            "Ticket: subject (placeholders allowed). Disposition: its code. Callback: key of a "
            "date question, or hours from now. Lead: “no” marks it not qualified."
        ),
    )
    offer_list = models.ForeignKey(
        OfferList,
        verbose_name=_("offer list"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    top_n = models.PositiveSmallIntegerField(_("top n"), default=3)

    class Meta:
        ordering = ["step", "position", "id"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")

    def __str__(self) -> str:
        return self.get_kind_display()


class ScriptRun(models.Model):
    """An agent running one script version with a customer; saved at every step."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In progress")
        FINISHED = "finished", _("Finished")
        ABANDONED = "abandoned", _("Abandoned")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Opened by the agent")
        QUEUE = "queue", _("Queue's default script")
        CALL_LIST = "call_list", _("Call list")
        ALERT = "alert", _("Alert rule")
        API = "api", _("API")

    version = models.ForeignKey(
        ScriptVersion,
        verbose_name=_("script version"),
        on_delete=models.PROTECT,
        related_name="runs",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="script_runs",
    )
    interaction = models.ForeignKey(
        "accounts.Interaction",
        verbose_name=_("interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="script_runs",
    )
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="script_runs",
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="script_runs",
    )
    source = models.CharField(
        _("opened from"), max_length=12, choices=Source.choices, default=Source.MANUAL
    )
    campaign = models.JSONField(
        _("campaign"),
        default=dict,
        blank=True,
        help_text=_("The campaign the run belongs to, as {“code”, “name”}."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    path = models.JSONField(
        _("path"), default=list, help_text=_("Keys of the steps shown, the current one last.")
    )
    outcome = models.SlugField(_("outcome"), max_length=60, blank=True)
    disposition = models.CharField(_("call disposition"), max_length=60, blank=True)
    lead_qualified = models.BooleanField(_("lead qualified"), null=True, blank=True)
    offers = models.JSONField(_("products offered"), default=list, blank=True)
    action_results = models.JSONField(_("action results"), default=list, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("script run")
        verbose_name_plural = _("script runs")
        indexes = [
            models.Index(fields=["interaction", "status"], name="scriptrun_interaction"),
            models.Index(fields=["agent", "status"], name="scriptrun_agent"),
            models.Index(fields=["version", "status"], name="scriptrun_version"),
        ]

    def __str__(self) -> str:
        return f"{self.version} #{self.pk}"

    @property
    def current_key(self) -> str:
        return str(self.path[-1]) if self.path else ""

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class RunAnswer(models.Model):
    """An answer given in a run; one per step, overwritten when the agent changes it."""

    run = models.ForeignKey(
        ScriptRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="answers"
    )
    step = models.ForeignKey(
        Step, verbose_name=_("step"), on_delete=models.PROTECT, related_name="run_answers"
    )
    value = models.JSONField(_("value"), null=True, blank=True)
    display = models.CharField(_("answer"), max_length=2000, blank=True)
    answered_at = models.DateTimeField(_("answered"), auto_now=True)

    class Meta:
        ordering = ["run", "id"]
        verbose_name = _("run answer")
        verbose_name_plural = _("run answers")
        constraints = [
            models.UniqueConstraint(fields=["run", "step"], name="runanswer_one_per_step"),
        ]

    def __str__(self) -> str:
        return self.display
