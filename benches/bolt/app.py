"""The baseline peer for tocsin's load harness: a minimal Slack Bolt for Python app.

It does what tocsin's read-only `/incident` path does at the HTTP edge: checks the
request signature (Bolt's RequestVerification middleware, on by default), parses the
slash command and answers it with an ephemeral reply. Nothing more.

How it is served, and why: Bolt's built-in `app.start()` is a development server
(http.server, one thread). Production Bolt apps on their own hosts run Bolt behind a
WSGI server, and Bolt's own WSGI adapter (`slack_bolt.adapter.wsgi`) documents gunicorn
for that; the popular Flask adapter is the same handler with Flask's routing on top. So
the baseline is this module's `api` under gunicorn with the worker count gunicorn's
documentation recommends, (2 x cores) + 1 sync workers (benches/load/bolt.rs starts it:
`gunicorn --chdir benches/bolt --workers N --bind 127.0.0.1:PORT app:api`).

No network: a single-workspace app normally calls auth.test once at start-up and caches
the result. Here `authorize` returns that cached result directly, so no request leaves
the machine and each Slack request costs what it would after start-up.
"""

import os

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult

BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "xoxb-bench")


def authorize(enterprise_id, team_id, user_id):
    """What auth.test would have said for the bot token, cached."""
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        user_id=user_id,
        bot_token=BOT_TOKEN,
        bot_id="B0BENCH",
        bot_user_id="U0BENCH",
    )


app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    authorize=authorize,
    # Signature and timestamp checks stay on: that is half of the work being compared.
    request_verification_enabled=True,
)


@app.command("/incident")
def incident(ack, command):
    ack({"response_type": "ephemeral", "text": f"No open incidents. ({command.get('text', '')})"})


# Served at the same path as tocsin's slash commands, so the harness sends the same request.
api = SlackRequestHandler(app, path="/slack/commands")
