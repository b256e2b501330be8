"""Engagement: the inbox (engagement/inbox/) and campaigns (engagement/campaigns/).

Each part keeps its models in its own module; Django finds them through this one.
"""

from engagement.campaigns.models import *  # noqa: F403
from engagement.inbox.models import *  # noqa: F403
