from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from scrm import tenancy


class FocusFirstError:
    """After a failed submit the first field in error carries ``autofocus``.

    HTMX focuses the ``[autofocus]`` element when the swapped form settles; left on
    the form's first field, that would pull the caret away from the field the user
    has to fix (and, typed fast, their keystrokes into the wrong box).
    """

    def full_clean(self) -> None:
        super().full_clean()
        if not self._errors:
            return
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)
        first = next((name for name in self.fields if name in self._errors), None)
        if first:
            self.fields[first].widget.attrs["autofocus"] = True


class SignupForm(FocusFirstError, forms.Form):
    brand_name = forms.CharField(label=_("Brand name"), max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    slug = forms.CharField(
        label=_("Address"), max_length=40,
        help_text=_("3–40 lowercase letters, digits or hyphens."),
    )
    username = forms.RegexField(label=_("Your username"), max_length=150, regex=r"^[\w.@+-]+$")
    email = forms.EmailField(label=_("Your email"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, min_length=8)

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip()
        tenancy.validate_slug(slug)
        return slug

    def clean_password(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data["password"]
        try:
            validate_password(password)
        except ValidationError as error:
            raise ValidationError(error.messages) from error
        return password
