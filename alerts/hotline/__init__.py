"""The hotline: the inbound IVR for callers (SPEC §8), in five languages. Twilio has no
Azerbaijani voice, so Azerbaijani is played as audio (a recording, else espeak-ng) or, with
neither, replaced by Russian prompts and the Azerbaijani text sent by SMS."""
