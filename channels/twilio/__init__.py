"""Everything Twilio, in one folder (as courier's handlers/twiml/): the REST transport (api),
its error codes and what they mean (errors), the SMS and voice channels with the TwiML answers
to webhooks (sms, voice), and the webhook side: signature and status callbacks (webhooks).
Nothing outside this folder needs the twilio library (the app's simulator aside)."""
