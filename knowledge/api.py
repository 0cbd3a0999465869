"""Knowledge API: search (text or a whole email), solutions, problems, categories."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from icenter import roles
from knowledge import selectors, services
from knowledge.models import Category, Problem, Solution, SolutionFeedback, SolutionLink

ERROR_RESPONSES = {
    400: OpenApiResponse(description='Invalid input: {"message": …, "extra": {…}}.'),
    401: OpenApiResponse(description="Not authenticated."),
    403: OpenApiResponse(description="No staff role (agent, supervisor, manager)."),
}


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "parent", "description"]
        ref_name = "KnowledgeCategory"


class ProblemSerializer(serializers.ModelSerializer):
    keywords: Any = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    solutions: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Problem
        fields = ["id", "title", "description", "category", "keywords", "solutions", "updated_at"]


class SolutionSerializer(serializers.ModelSerializer):
    body = serializers.SerializerMethodField(help_text="Sanitised HTML.")
    keywords: Any = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    problems: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Solution
        fields = [
            "id",
            "title",
            "body",
            "internal_note",
            "language",
            "category",
            "problems",
            "keywords",
            "status",
            "is_public",
            "valid_from",
            "valid_until",
            "version",
            "usage_count",
            "helped_count",
            "not_helped_count",
            "source_ticket",
            "updated_at",
        ]

    def get_body(self, solution: Solution) -> str:
        return services.solution_body_clean(solution.body)


class SolutionLinkSerializer(serializers.ModelSerializer):
    solution_title = serializers.CharField(source="solution.title", read_only=True)
    ticket_number = serializers.CharField(source="ticket.number", read_only=True)

    class Meta:
        model = SolutionLink
        fields = [
            "id",
            "solution",
            "solution_title",
            "ticket",
            "ticket_number",
            "linked_by",
            "linked_at",
        ]
        read_only_fields = fields


class StaffMayLink(BasePermission):
    """Agents, supervisors and managers link and unlink (DELETE included, unlike elsewhere)."""

    message = "You need the agent, supervisor or manager role for the API."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.user_has_role(request.user, *roles.ALL)


class SolutionHitSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="solution.pk")
    title = serializers.CharField(source="solution.title")
    category = serializers.CharField(source="solution.category.name", default=None)
    score = serializers.FloatField()
    title_highlighted = serializers.CharField(
        source="title_html", help_text="The title, HTML-escaped, matched words in <mark>."
    )
    excerpt_highlighted = serializers.CharField(
        source="excerpt_html", help_text="A plain-text excerpt, HTML-escaped, matches in <mark>."
    )


class SearchOutputSerializer(serializers.Serializer):
    words = serializers.ListField(
        child=serializers.CharField(), help_text="The folded words that were searched for."
    )
    results = SolutionHitSerializer(many=True, source="hits")

    class Meta:
        ref_name = "KnowledgeSearchResult"


@extend_schema_view(
    list=extend_schema(summary="List knowledge categories"),
    retrieve=extend_schema(summary="A knowledge category"),
)
class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Categories of problems and solutions."""

    queryset = Category.objects.order_by("name", "id")
    serializer_class = CategorySerializer
    filter_backends: list[Any] = []


@extend_schema_view(
    list=extend_schema(summary="List problems"),
    retrieve=extend_schema(summary="A problem with the ids of its solutions"),
)
class ProblemViewSet(viewsets.ReadOnlyModelViewSet):
    """Problems as customers describe them; each is solved by one or more solutions."""

    serializer_class = ProblemSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Problem]:
        return Problem.objects.prefetch_related("keywords", "solutions").order_by("title", "id")


@extend_schema_view(
    list=extend_schema(summary="List solutions (managers see drafts and archived ones too)"),
    retrieve=extend_schema(summary="A solution"),
)
class SolutionViewSet(viewsets.ReadOnlyModelViewSet):
    """Solutions; agents and supervisors see the released, valid ones."""

    serializer_class = SolutionSerializer
    filter_backends: list[Any] = []

    class SearchInputSerializer(serializers.Serializer):
        q = serializers.CharField(
            max_length=10000,
            help_text="A problem description in German or English; typos and umlauts are fine.",
            error_messages={
                "required": gettext_lazy("Give a search text in q."),
                "blank": gettext_lazy("Give a search text in q."),
            },
        )
        category = serializers.IntegerField(required=False, min_value=1)
        limit = serializers.IntegerField(min_value=1, max_value=50, default=10)

    class EmailSearchInputSerializer(serializers.Serializer):
        body = serializers.CharField(
            max_length=40000,
            help_text="A customer's whole email; quotes and signature are left out.",
        )
        category = serializers.IntegerField(required=False, min_value=1)
        limit = serializers.IntegerField(min_value=1, max_value=50, default=10)

    class FeedbackInputSerializer(serializers.Serializer):
        helped = serializers.BooleanField()
        q = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class LinkInputSerializer(serializers.Serializer):
        ticket = serializers.IntegerField(min_value=1, help_text="The ticket's id.")

    class ProposeInputSerializer(serializers.Serializer):
        ticket = serializers.IntegerField(
            min_value=1, help_text="The resolved or closed ticket the solution comes from."
        )
        title = serializers.CharField(max_length=200)
        body = serializers.CharField(
            max_length=services.BODY_MAX, help_text="Plain text; paragraphs by blank lines."
        )
        problem_title = serializers.CharField(
            max_length=200,
            required=False,
            allow_blank=True,
            default="",
            help_text="Empty: the ticket's subject.",
        )
        problem_description = serializers.CharField(
            max_length=services.BODY_MAX, required=False, allow_blank=True, default=""
        )
        language = serializers.ChoiceField(
            choices=Solution.Language.choices, default=Solution.Language.GERMAN
        )

    def get_queryset(self) -> QuerySet[Solution]:
        if roles.user_has_role(self.request.user, roles.MANAGER):
            queryset = Solution.objects.all()
        else:
            queryset = selectors.solution_visible()
        return queryset.prefetch_related("keywords", "problems").order_by("title", "id")

    @extend_schema(
        summary="Search solutions",
        description="Phonetic, typo-tolerant search over released solutions, best first; "
        "matched words come highlighted in HTML-escaped text.",
        parameters=[SearchInputSerializer],
        responses={200: SearchOutputSerializer, **ERROR_RESPONSES},
    )
    @action(detail=False, methods=["get"], url_path="search", pagination_class=None)
    def search(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = self.SearchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = selectors.solution_search(
            query=params.validated_data["q"],
            category_id=params.validated_data.get("category"),
            limit=params.validated_data["limit"],
        )
        return Response(SearchOutputSerializer(page).data)

    @extend_schema(
        summary="Search solutions with a customer's whole email",
        request=EmailSearchInputSerializer,
        responses={200: SearchOutputSerializer, **ERROR_RESPONSES},
    )
    @action(detail=False, methods=["post"], url_path="search-email", pagination_class=None)
    def search_email(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = self.EmailSearchInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        page = selectors.solution_search_email(
            body=params.validated_data["body"],
            category_id=params.validated_data.get("category"),
            limit=params.validated_data["limit"],
        )
        return Response(SearchOutputSerializer(page).data)

    @extend_schema(
        summary="Say whether a solution helped (feeds the ranking)",
        request=FeedbackInputSerializer,
        responses={201: OpenApiResponse(description="Recorded."), **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="feedback")
    def feedback(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        solution = self.get_object()
        params = self.FeedbackInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.solution_feedback_add(
            solution=solution,
            helped=params.validated_data["helped"],
            source=SolutionFeedback.Source.AGENT,
            user=request.user,
            query=params.validated_data["q"],
        )
        return Response(status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="The tickets this solution is linked to (those you may see)",
        responses={200: SolutionLinkSerializer(many=True), **ERROR_RESPONSES},
    )
    @extend_schema(
        methods=["POST"],
        summary="Link the solution to a ticket (counts as a use of the solution)",
        request=LinkInputSerializer,
        responses={201: SolutionLinkSerializer, **ERROR_RESPONSES},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Unlink the solution from a ticket",
        parameters=[OpenApiParameter("ticket", int, required=True, description="The ticket's id.")],
        request=None,
        responses={204: OpenApiResponse(description="Unlinked."), **ERROR_RESPONSES},
    )
    @action(
        detail=True,
        methods=["get", "post", "delete"],
        url_path="links",
        permission_classes=[StaffMayLink],
        pagination_class=None,
    )
    def links(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.method == "GET":
            solution = self.get_object()
            links = selectors.solution_link_list_for_solution(
                solution_id=solution.pk, user=request.user
            )
            return Response(SolutionLinkSerializer(links, many=True).data)
        if request.method == "POST":
            solution = self.get_object()
            params = self.LinkInputSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            link = services.solution_link_to_ticket(
                solution=solution, ticket_id=params.validated_data["ticket"], user=request.user
            )
            return Response(SolutionLinkSerializer(link).data, status=status.HTTP_201_CREATED)
        # Unlinking also works for a solution archived since it was linked.
        solution_id = _pk(kwargs.get("pk"))
        solution = Solution.objects.filter(pk=solution_id).first() if solution_id else None
        if solution is None:
            raise NotFound()
        params = self.LinkInputSerializer(data=request.query_params or request.data)
        params.is_valid(raise_exception=True)
        services.solution_unlink_from_ticket(
            solution=solution, ticket_id=params.validated_data["ticket"], user=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The solutions linked to a ticket",
        parameters=[LinkInputSerializer],
        responses={200: SolutionLinkSerializer(many=True), **ERROR_RESPONSES},
    )
    @action(detail=False, methods=["get"], url_path="linked", pagination_class=None)
    def linked(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = self.LinkInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        links = selectors.solution_link_list_for_ticket_of_user(
            ticket_id=params.validated_data["ticket"], user=request.user
        )
        if links is None:
            raise NotFound(gettext_lazy("That ticket does not exist or is not yours to see."))
        return Response(SolutionLinkSerializer(links, many=True).data)

    @extend_schema(
        summary="Propose a solution draft from a resolved ticket (managers review it)",
        request=ProposeInputSerializer,
        responses={201: SolutionSerializer, **ERROR_RESPONSES},
    )
    @action(detail=False, methods=["post"], url_path="propose")
    def propose(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = self.ProposeInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        solution = services.solution_propose_from_ticket(
            ticket_id=data["ticket"],
            user=request.user,
            title=data["title"],
            body=data["body"],
            problem_title=data["problem_title"],
            problem_description=data["problem_description"],
            language=data["language"],
        )
        return Response(SolutionSerializer(solution).data, status=status.HTTP_201_CREATED)


def _pk(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
