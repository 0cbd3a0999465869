import pytest

from icenter.desk.rendering import language_from_scope, render_panels


@pytest.mark.django_db
def test_pushed_toolbar_keeps_the_demo_controls(agent, settings):
    settings.ICENTER_DEMO_TOOLS = True
    html = render_panels(agent_id=agent.pk, panels=("toolbar",), language="en")
    assert "Simulate call" in html


@pytest.mark.django_db
def test_pushed_toolbar_has_no_demo_controls_outside_demo_mode(agent, settings):
    settings.ICENTER_DEMO_TOOLS = False
    assert "Simulate call" not in render_panels(
        agent_id=agent.pk, panels=("toolbar",), language="en"
    )


@pytest.mark.parametrize(
    "scope, language",
    [
        ({"cookies": {"django_language": "en"}, "headers": [(b"accept-language", b"de")]}, "en"),
        ({"cookies": {}, "headers": [(b"accept-language", b"en-US,en;q=0.9")]}, "en"),
        ({"cookies": {}, "headers": [(b"accept-language", b"de-DE,de;q=0.9,en;q=0.5")]}, "de"),
        ({"cookies": {}, "headers": [(b"accept-language", b"fr-FR")]}, "xx"),
        ({"cookies": {"django_language": "klingon"}, "headers": []}, "xx"),
    ],
)
def test_the_socket_speaks_the_language_of_its_page(scope, language, settings):
    settings.LANGUAGE_CODE = "xx" if language == "xx" else settings.LANGUAGE_CODE
    assert language_from_scope(scope) == language
