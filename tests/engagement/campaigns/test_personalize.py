"""Personalization: variables with fallbacks, escaped per channel, no code execution."""

from types import SimpleNamespace

from engagement.campaigns import personalize


def _customer(**fields):  # noqa: ANN003, ANN202
    return SimpleNamespace(**{"display_name": "", "city": "", "attributes": {}, **fields})


def test_variables_and_fallbacks():
    variables = personalize.customer_variables(_customer(display_name="王芳", attributes={"tier": "gold", "nested": {"x": 1}}))

    text = personalize.render("{{ name|friend }}, {{city | your city}}! {{ attributes.tier }} {{ attributes.nested|-}} {{ unknown }}.", variables)

    assert text == "王芳, your city! gold - ."


def test_email_html_escapes_customer_values_and_fallbacks():
    variables = personalize.customer_variables(_customer(display_name='<script>alert(1)</script>"&'))

    body = personalize.render("<p>Hi {{ name }}</p><p>{{ city | <b>there</b> }}</p>", variables, html_body=True)

    assert body == "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;</p><p>&lt;b&gt;there&lt;/b&gt;</p>"


def test_chat_text_is_plain_without_control_characters():
    variables = personalize.customer_variables(_customer(display_name="A\x00B\u202eC😀<b>"))

    assert personalize.render("{{ name }}", variables) == "AB\u202eC😀<b>"


def test_template_syntax_cannot_run_anything():
    variables = personalize.customer_variables(_customer(display_name="x"))
    hostile = "{% load os %}{{ name.__class__ }}{{ name|upper }}{% for a in b %}{{ ''.__class__.__mro__ }}"

    text = personalize.render(hostile, variables)

    # tags stay literal text; dotted names are just unknown variables; "upper" is a fallback, not a filter
    assert text == "{% load os %}x{% for a in b %}{{ ''.__class__.__mro__ }}"


def test_render_message_per_type():
    variant = SimpleNamespace(text="Hi {{ name }}", image_url="https://img.example/a.png", template_id="T", template_data={"first": "Dear {{ name|guest }}"},
                              email_subject="For {{ name }}", email_html="<h1>{{ name }}</h1>")
    variables = {"name": "<Li>", "link": "https://s.example/l/x"}

    assert personalize.render_message(variant, "text", variables) == {"type": "text", "text": "Hi <Li>", "image_url": "https://img.example/a.png"}
    assert personalize.render_message(variant, "template", variables)["data"] == {"first": "Dear <Li>"}
    email = personalize.render_message(variant, "email", variables)
    assert email["subject"] == "For <Li>" and email["html"] == "<h1>&lt;Li&gt;</h1>"
