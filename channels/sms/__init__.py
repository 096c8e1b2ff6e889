"""What SMS is, whichever provider carries it: segments and encodings (segments). Twilio's SMS
channel is channels.twilio.sms."""
