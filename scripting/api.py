"""REST API for scripts, their versions, runs and answers (/api/v1/).

Everyone with a staff role reads scripts and versions. Agents see and drive their own
runs; supervisors and managers read every run. Managers import and publish.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account, Contact, Interaction
from icenter import roles
from icenter.errors import PermissionDenied
from scripting import services
from scripting.interchange import script_export, script_import
from scripting.models import RunAnswer, Script, ScriptRun, ScriptVersion
from scripting.selectors import version_results

ERRORS = {400: None, 403: None, 404: None}


def _is_lead(user: Any) -> bool:
    return roles.user_has_role(user, roles.SUPERVISOR, roles.MANAGER)


def _require_manager(user: Any) -> None:
    if not roles.user_has_role(user, roles.MANAGER):
        raise PermissionDenied("Only managers may do this.")


class ScriptVersionSummarySerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="draft, published or retired.")

    class Meta:
        model = ScriptVersion
        ref_name = "ScriptVersionSummary"
        fields = ["id", "number", "status", "notes", "created_at", "published_at", "retired_at"]


class ScriptSerializer(serializers.ModelSerializer):
    versions = ScriptVersionSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Script
        ref_name = "Script"
        fields = ["id", "code", "name", "description", "created_at", "versions"]


class ScriptVersionSerializer(serializers.ModelSerializer):
    script: serializers.SlugRelatedField[Script] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    status = serializers.CharField(read_only=True, help_text="draft, published or retired.")
    definition = serializers.SerializerMethodField(
        help_text="The steps in the import/export format (docs/scripting/script.schema.json)."
    )

    class Meta:
        model = ScriptVersion
        ref_name = "ScriptVersion"
        fields = [
            "id",
            "script",
            "number",
            "status",
            "notes",
            "created_at",
            "published_at",
            "retired_at",
            "definition",
        ]

    def get_definition(self, obj: ScriptVersion) -> dict[str, Any]:
        return script_export(version=obj)


class RunAnswerSerializer(serializers.ModelSerializer):
    step: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="key", read_only=True
    )
    value = serializers.JSONField(help_text="Text, or a list of values for multiple choice.")

    class Meta:
        model = RunAnswer
        ref_name = "ScriptAnswer"
        fields = ["id", "run", "step", "value", "display", "answered_at"]


class ScriptRunSerializer(serializers.ModelSerializer):
    script = serializers.CharField(source="version.script.code", read_only=True)  # type: ignore[assignment]
    current_step = serializers.CharField(source="current_key", read_only=True)
    status = serializers.CharField(read_only=True, help_text="active, finished or abandoned.")
    source = serializers.CharField(  # type: ignore[assignment]
        read_only=True, help_text="manual, queue, call_list, alert or api: who opened it."
    )
    answers = RunAnswerSerializer(many=True, read_only=True)

    class Meta:
        model = ScriptRun
        ref_name = "ScriptRun"
        fields = [
            "id",
            "script",
            "version",
            "agent",
            "interaction",
            "account",
            "contact",
            "source",
            "campaign",
            "status",
            "path",
            "current_step",
            "outcome",
            "disposition",
            "lead_qualified",
            "offers",
            "action_results",
            "started_at",
            "updated_at",
            "finished_at",
            "answers",
        ]


@extend_schema_view(
    list=extend_schema(summary="List scripts with their versions"),
    retrieve=extend_schema(summary="A script with its versions"),
)
class ScriptViewSet(viewsets.ReadOnlyModelViewSet):
    """Call scripts."""

    serializer_class = ScriptSerializer
    queryset = Script.objects.prefetch_related("versions").order_by("name", "id")

    @extend_schema(
        summary="Import a script (managers only)",
        description="The body is an export document (docs/scripting/script.schema.json). It "
        "becomes a new draft: a new script, or the next version of the script with the same "
        "code. A document with any problem is refused whole; `extra.problems` names line and "
        "field of each.",
        request={"application/json": {"type": "object"}},
        responses={201: ScriptVersionSerializer, **ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="import", pagination_class=None)
    def import_(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_manager(request.user)
        version, warnings = script_import(
            text=json.dumps(request.data, ensure_ascii=False), created_by=request.user
        )
        data = dict(ScriptVersionSerializer(version).data)
        data["problems"] = [p.message for p in warnings]
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List script versions"),
    retrieve=extend_schema(summary="A script version with its steps"),
)
class ScriptVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Versions of call scripts: drafts, the published one, retired ones."""

    serializer_class = ScriptVersionSerializer
    queryset = ScriptVersion.objects.select_related("script").order_by("script__name", "-number")

    @extend_schema(
        summary="Publish a draft (managers only)",
        description="Refused with every validation problem in `extra.problems`.",
        request=None,
        responses={200: ScriptVersionSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_manager(request.user)
        version = services.script_version_publish(version=self.get_object())
        return Response(ScriptVersionSerializer(version).data)

    @extend_schema(
        summary="Answer distributions and outcomes of the version's finished runs",
        responses={200: {"type": "object"}},
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        results = version_results(version=self.get_object())
        return Response(
            {
                "runs": results.runs,
                "finished": results.finished,
                "abandoned": results.abandoned,
                "active": results.active,
                "outcomes": [{"outcome": o.label, "count": o.count} for o in results.outcomes],
                "questions": [
                    {
                        "key": q.key,
                        "answered": q.answered,
                        "counts": [{"answer": c.label, "count": c.count} for c in q.counts],
                    }
                    for q in results.questions
                ],
            }
        )


def _visible_runs(user: Any) -> QuerySet[ScriptRun]:
    runs = ScriptRun.objects.select_related("version", "version__script").prefetch_related(
        "answers", "answers__step"
    )
    return runs if _is_lead(user) else runs.filter(agent=user)


@extend_schema_view(
    list=extend_schema(
        summary="List script runs (agents: their own)",
        parameters=[
            OpenApiParameter("interaction", int, description="Only runs of this interaction."),
            OpenApiParameter("version", int, description="Only runs of this version."),
            OpenApiParameter("status", str, description="active, finished or abandoned."),
        ],
    ),
    retrieve=extend_schema(summary="A script run with its answers"),
)
class ScriptRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of scripts with customers: start, answer step by step, go back, finish."""

    serializer_class = ScriptRunSerializer

    class StartInputSerializer(serializers.Serializer):
        version = serializers.PrimaryKeyRelatedField(
            queryset=ScriptVersion.objects.select_related("script")
        )
        interaction = serializers.PrimaryKeyRelatedField(
            queryset=Interaction.objects.all(), required=False, allow_null=True
        )
        account = serializers.PrimaryKeyRelatedField(
            queryset=Account.objects.all(), required=False, allow_null=True
        )
        contact = serializers.PrimaryKeyRelatedField(
            queryset=Contact.objects.all(), required=False, allow_null=True
        )
        campaign = serializers.DictField(
            child=serializers.CharField(max_length=200), required=False
        )

        class Meta:
            ref_name = "ScriptRunStart"

    class AnswerInputSerializer(serializers.Serializer):
        step = serializers.CharField(
            max_length=60, help_text="Key of the current step (refused when stale)."
        )
        answer = serializers.JSONField(
            required=False, help_text="Text, or a list of values for multiple choice."
        )

        class Meta:
            ref_name = "ScriptRunAnswer"

    def get_queryset(self) -> QuerySet[ScriptRun]:
        if getattr(self, "swagger_fake_view", False):
            return ScriptRun.objects.none()
        runs = _visible_runs(self.request.user)
        params = self.request.query_params
        for name in ("interaction", "version"):
            value = params.get(name)
            if value is not None and value.isdigit():
                runs = runs.filter(**{f"{name}_id": int(value)})
        if params.get("status") in ScriptRun.Status.values:
            runs = runs.filter(status=params["status"])
        return runs.order_by("-started_at", "-id")

    def _own(self) -> ScriptRun:
        run = self.get_object()
        if run.agent_id != self.request.user.pk:
            raise PermissionDenied("This script run belongs to another agent.")
        return run

    def _answer(self, run: ScriptRun) -> Response:
        return Response(ScriptRunSerializer(_visible_runs(self.request.user).get(pk=run.pk)).data)

    @extend_schema(
        summary="Start (or resume) a run of a published version",
        request=StartInputSerializer,
        responses={201: ScriptRunSerializer, **ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.StartInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.script_run_start(
            script_version=data["version"],
            agent_user=request.user,
            interaction=data.get("interaction"),
            account=data.get("account"),
            contact=data.get("contact"),
            campaign=data.get("campaign"),
            source=ScriptRun.Source.API,
        )
        response = self._answer(run)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(
        summary="Answer the current step and move on",
        request=AnswerInputSerializer,
        responses={200: ScriptRunSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.AnswerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = serializer.validated_data.get("answer")
        if answer is not None and not isinstance(answer, str | list):
            answer = str(answer)
        if isinstance(answer, list):
            answer = [str(item) for item in answer]
        run = services.script_run_answer(
            run=self._own(),
            user=request.user,
            step_key=serializer.validated_data["step"],
            answer=answer,
        )
        return self._answer(run)

    @extend_schema(summary="Go back one step", request=None, responses={200: ScriptRunSerializer})
    @action(detail=True, methods=["post"])
    def back(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(services.script_run_back(run=self._own(), user=request.user))

    @extend_schema(
        summary="Finish on the end step (runs the outcome's actions)",
        request=None,
        responses={200: ScriptRunSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def finish(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(services.script_run_finish(run=self._own(), user=request.user))

    @extend_schema(summary="Close the run unfinished", request=None)
    @action(detail=True, methods=["post"])
    def abandon(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(services.script_run_abandon(run=self._own(), user=request.user))


@extend_schema_view(
    list=extend_schema(
        summary="List answers of script runs",
        parameters=[
            OpenApiParameter("run", int, description="Only answers of this run."),
            OpenApiParameter("version", int, description="Only answers of this version's runs."),
        ],
    ),
    retrieve=extend_schema(summary="One answer"),
)
class ScriptAnswerViewSet(viewsets.ReadOnlyModelViewSet):
    """Answers given in script runs (agents: of their own runs)."""

    serializer_class = RunAnswerSerializer

    def get_queryset(self) -> QuerySet[RunAnswer]:
        if getattr(self, "swagger_fake_view", False):
            return RunAnswer.objects.none()
        answers = RunAnswer.objects.select_related("step", "run")
        if not _is_lead(self.request.user):
            answers = answers.filter(run__agent_id=self.request.user.pk)
        params = self.request.query_params
        if (run := params.get("run")) and run.isdigit():
            answers = answers.filter(run_id=int(run))
        if (version := params.get("version")) and version.isdigit():
            answers = answers.filter(run__version_id=int(version))
        return answers.order_by("run_id", "id")
