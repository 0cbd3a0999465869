"""The knowledge base: problems, solutions, categories, keywords, and its search index."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    """A topic that groups problems and solutions ("Internet", "Rechnung")."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class Keyword(models.Model):
    """A search word with its synonyms; a query for any of them finds the others too."""

    name = models.CharField(_("keyword"), max_length=100, unique=True)
    synonyms = models.TextField(
        _("synonyms"),
        blank=True,
        help_text=_("Other words with the same meaning, separated by commas."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("keyword")
        verbose_name_plural = _("keywords")

    def __str__(self) -> str:
        return self.name

    @property
    def synonym_list(self) -> list[str]:
        return [word.strip() for word in self.synonyms.split(",") if word.strip()]


class Problem(models.Model):
    """A symptom as customers describe it; one problem can have several solutions."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="problems",
    )
    keywords = models.ManyToManyField(
        Keyword, verbose_name=_("keywords"), blank=True, related_name="problems"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        constraints = [models.CheckConstraint(condition=~Q(title=""), name="problem_title")]

    def __str__(self) -> str:
        return self.title


class Solution(models.Model):
    """An answer to one or more problems, authored by managers, sent to customers by agents."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RELEASED = "released", _("Released")
        ARCHIVED = "archived", _("Archived")

    class Language(models.TextChoices):
        GERMAN = "de", _("German")
        ENGLISH = "en", _("English")

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(
        _("text"), help_text=_("Rich text; unsafe HTML is removed when it is saved.")
    )
    internal_note = models.TextField(
        _("internal note"), blank=True, help_text=_("For agents only; never shown to customers.")
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.GERMAN
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="solutions",
    )
    problems = models.ManyToManyField(
        Problem, verbose_name=_("problems"), blank=True, related_name="solutions"
    )
    keywords = models.ManyToManyField(
        Keyword, verbose_name=_("keywords"), blank=True, related_name="solutions"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    is_public = models.BooleanField(
        _("public"), default=False, help_text=_("Customers find it on the self-service page.")
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    usage_count = models.PositiveIntegerField(
        _("times used"), default=0, help_text=_("How often it was sent to a customer or linked.")
    )
    helped_count = models.PositiveIntegerField(_("helped"), default=0)
    not_helped_count = models.PositiveIntegerField(_("did not help"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source_ticket = models.ForeignKey(
        "accounts.Ticket",
        verbose_name=_("proposed from ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposed_solutions",
        help_text=_("The resolved ticket an agent proposed this solution from."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Which status may follow which; everything else is refused by solution_set_status.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.DRAFT: (Status.RELEASED, Status.ARCHIVED),
        Status.RELEASED: (Status.ARCHIVED, Status.DRAFT),
        Status.ARCHIVED: (Status.DRAFT,),
    }

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("solution")
        verbose_name_plural = _("solutions")
        indexes = [models.Index(fields=["status", "-usage_count"], name="solution_top_used")]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="solution_title"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="solution_valid_range",
            ),
            # One pending proposal per ticket: a second one waits until the first is reviewed.
            models.UniqueConstraint(
                fields=["source_ticket"],
                condition=Q(status="draft"),
                name="solution_one_pending_proposal",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def is_valid_on(self, day: object = None) -> bool:
        today = day or timezone.localdate()
        if self.valid_from is not None and today < self.valid_from:  # type: ignore[operator]
            return False
        return not (self.valid_until is not None and today > self.valid_until)  # type: ignore[operator]


class SolutionVersion(models.Model):
    """A saved state of a solution: who changed what, when."""

    solution = models.ForeignKey(
        Solution, verbose_name=_("solution"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=Solution.Status.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("change note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("saved"), default=timezone.now)

    class Meta:
        ordering = ["solution", "-number"]
        verbose_name = _("solution version")
        verbose_name_plural = _("solution versions")
        constraints = [
            models.UniqueConstraint(fields=["solution", "number"], name="solution_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.solution_id} v{self.number}"


class Attachment(models.Model):
    """A file that belongs to a solution (a manual, a screenshot)."""

    solution = models.ForeignKey(
        Solution, verbose_name=_("solution"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to="knowledge/%Y/%m/")
    title = models.CharField(_("title"), max_length=200, blank=True)
    is_public = models.BooleanField(
        _("public"), default=True, help_text=_("Shown on the self-service page.")
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["solution", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return str(self.title or self.file.name)


class SolutionUsage(models.Model):
    """A solution was sent to a customer or linked to a ticket (feeds the top-10 lists)."""

    class Kind(models.TextChoices):
        SENT = "sent", _("Sent to customer")
        LINKED = "linked", _("Linked to ticket")

    solution = models.ForeignKey(
        Solution, verbose_name=_("solution"), on_delete=models.CASCADE, related_name="usages"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    queue = models.CharField(_("queue"), max_length=100, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    interaction = models.ForeignKey(
        "accounts.Interaction",
        verbose_name=_("interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    used_at = models.DateTimeField(_("used"), default=timezone.now)

    class Meta:
        ordering = ["-used_at", "-id"]
        verbose_name = _("solution usage")
        verbose_name_plural = _("solution usages")
        indexes = [models.Index(fields=["queue", "solution"], name="solution_usage_queue")]

    def __str__(self) -> str:
        return f"{self.solution_id} {self.kind}"


class SolutionLink(models.Model):
    """A released solution an agent linked to a ticket; it shows on the ticket's page."""

    solution = models.ForeignKey(
        Solution, verbose_name=_("solution"), on_delete=models.CASCADE, related_name="links"
    )
    ticket = models.ForeignKey(
        "accounts.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="solution_links",
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    linked_at = models.DateTimeField(_("linked"), default=timezone.now)
    # The use this link counted; unlinking takes it back.
    usage = models.OneToOneField(
        SolutionUsage,
        verbose_name=_("usage"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="link",
    )

    class Meta:
        ordering = ["-linked_at", "-id"]
        verbose_name = _("solution linked to a ticket")
        verbose_name_plural = _("solutions linked to tickets")
        constraints = [
            models.UniqueConstraint(fields=["solution", "ticket"], name="solution_link_once")
        ]

    def __str__(self) -> str:
        return f"{self.solution_id} → {self.ticket_id}"


class SolutionFeedback(models.Model):
    """ "Helped" or "did not help" from an agent or a self-service customer."""

    class Source(models.TextChoices):
        AGENT = "agent", _("Agent")
        PUBLIC = "public", _("Self-service")

    solution = models.ForeignKey(
        Solution, verbose_name=_("solution"), on_delete=models.CASCADE, related_name="feedback"
    )
    helped = models.BooleanField(_("helped"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    query = models.CharField(_("search text"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("given"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")

    def __str__(self) -> str:
        return f"{self.solution_id} {'+' if self.helped else '-'}"


# -- the search index (knowledge/search/) ----------------------------------------------------


class SearchTerm(models.Model):
    """One distinct word of a search index with its stems and phonetic codes.

    `index` names the collection ("solution", "account"); `df` counts the documents
    that contain the word, for the relevance ranking.
    """

    index = models.CharField(max_length=20)
    text = models.CharField(max_length=100)
    length = models.PositiveSmallIntegerField()
    stem_de = models.CharField(max_length=100)
    stem_en = models.CharField(max_length=100)
    cologne = models.CharField(max_length=60, blank=True)
    metaphone = models.CharField(max_length=20, blank=True)
    metaphone_alt = models.CharField(max_length=20, blank=True)
    df = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")
        constraints = [
            models.UniqueConstraint(fields=["index", "text"], name="searchterm_unique"),
        ]
        indexes = [
            models.Index(fields=["index", "stem_de"], name="searchterm_stem_de"),
            models.Index(fields=["index", "stem_en"], name="searchterm_stem_en"),
            models.Index(fields=["index", "cologne"], name="searchterm_cologne"),
            models.Index(fields=["index", "metaphone"], name="searchterm_metaphone"),
            models.Index(fields=["index", "metaphone_alt"], name="searchterm_metaphone_alt"),
            models.Index(fields=["index", "length"], name="searchterm_length"),
        ]

    def __str__(self) -> str:
        return self.text


class SearchPosting(models.Model):
    """A word of a search index occurs in one document, with the weight of its best field."""

    index = models.CharField(max_length=20)
    # No index of its own (the unique (term, doc_id) index serves lookups by word) and no
    # database constraint: checking it for millions of rows made a rebuild's commit slow;
    # the engine deletes a word's postings before the word.
    term = models.ForeignKey(
        SearchTerm,
        on_delete=models.CASCADE,
        related_name="postings",
        db_index=False,
        db_constraint=False,
    )
    doc_id = models.BigIntegerField()
    weight = models.FloatField()

    class Meta:
        verbose_name = _("search posting")
        verbose_name_plural = _("search postings")
        constraints = [
            models.UniqueConstraint(fields=["term", "doc_id"], name="searchposting_unique"),
        ]
        indexes = [models.Index(fields=["index", "doc_id"], name="searchposting_doc")]

    def __str__(self) -> str:
        return f"{self.term_id}@{self.doc_id}"
