"""i18n.Message: English where the API answers, the reader's language where the console shows it."""

from alerts import i18n
from alerts.i18n import N_, Message
from alerts.validation import Conflict, ValidationError, words_of


def test_a_message_is_english_as_a_str_and_translated_on_demand() -> None:
    message = Message(N_("Wrong user name or password."))
    assert message == "Wrong user name or password."
    with i18n.language("ru"):
        assert message.translated() != "Wrong user name or password."
        assert i18n.translated(message) == i18n.gettext("Wrong user name or password.")
        assert i18n.translated("plain words") == "plain words"


def test_arguments_are_put_in_after_translation() -> None:
    message = Message(N_("Correction: %(headline)s"), headline="Flood 9")
    assert str(message) == "Correction: Flood 9"
    with i18n.language("ru"):
        assert message.translated() != str(message) and "Flood 9" in message.translated()
        assert message.translated() == i18n.gettext("Correction: %(headline)s") % {"headline": "Flood 9"}


def test_words_of_a_refusal_are_in_the_readers_language() -> None:
    refused = ValidationError({"params.magnitude": Message(N_("Wrong user name or password.")), "other": "as is"})
    with i18n.language("az"):
        assert words_of(refused) == i18n.gettext("Wrong user name or password.") + "; as is"
        wrong = i18n.gettext("Wrong user name or password.")
        assert words_of(Conflict(Message(N_("Wrong user name or password.")))) == wrong
    assert words_of(Conflict("plain")) == "plain"
