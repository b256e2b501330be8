"""Routing rules and agent choice (pure): conditions, precedence, strategies, capacity, queue order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engagement.inbox.routing import (
    Agent,
    Facts,
    Rule,
    Waiting,
    matches,
    plan_assignments,
    queue_order,
    route,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_rule_without_conditions_matches_everything():
    assert matches(Rule(id=1), Facts(channel="wechat"))


def test_every_set_condition_must_hold():
    rule = Rule(id=1, channels=("wechat",), languages=("zh",), keywords=("退款",))
    assert matches(rule, Facts(channel="wechat", language="zh-cn", text="我要退款"))
    assert not matches(rule, Facts(channel="facebook", language="zh", text="我要退款"))
    assert not matches(rule, Facts(channel="wechat", language="en", text="我要退款"))
    assert not matches(rule, Facts(channel="wechat", language="zh", text="你好"))


def test_keywords_ignore_case_and_full_width_forms():
    rule = Rule(id=1, keywords=("refund",))
    assert matches(rule, Facts(channel="x", text="I want a REFUND now"))
    assert matches(rule, Facts(channel="x", text="ＲＥＦＵＮＤ please"))  # full-width letters


def test_vip_tag_and_negative_sentiment_conditions():
    vip = Rule(id=1, customer_tags=("VIP",))
    angry = Rule(id=2, negative_sentiment=True)
    assert matches(vip, Facts(channel="x", customer_tags=frozenset({"VIP", "new"})))
    assert not matches(vip, Facts(channel="x", customer_tags=frozenset({"vip-lite"})))
    assert matches(angry, Facts(channel="x", sentiment=-0.8))
    assert not matches(angry, Facts(channel="x", sentiment=0.1))
    assert not matches(angry, Facts(channel="x", sentiment=None))


def test_first_team_wins_highest_priority_wins_labels_accumulate():
    rules = [
        Rule(id=1, keywords=("refund",), set_team_id=10, add_labels=("billing",)),
        Rule(id=2, customer_tags=("VIP",), set_priority=3, set_team_id=20, add_labels=("vip",)),
        Rule(id=3, set_priority=2, add_labels=("billing",)),
    ]
    facts = Facts(channel="wechat", text="refund please", customer_tags=frozenset({"VIP"}))
    outcome = route(rules, facts, default_priority=1, default_team_id=99)
    assert (outcome.team_id, outcome.priority, outcome.labels, outcome.rule_ids) == (10, 3, ("billing", "vip"), (1, 2, 3))


def test_no_matching_rule_falls_back_to_the_default_team():
    outcome = route([Rule(id=1, channels=("x",), set_team_id=5)], Facts(channel="wechat"), default_priority=1, default_team_id=7)
    assert (outcome.team_id, outcome.priority, outcome.labels) == (7, 1, ())


def test_queue_is_priority_first_then_arrival():
    waiting = [
        Waiting(1, priority=1, queued_at=T0),
        Waiting(2, priority=3, queued_at=T0 + timedelta(minutes=5)),
        Waiting(3, priority=1, queued_at=T0 - timedelta(minutes=1)),
        Waiting(4, priority=3, queued_at=T0 + timedelta(minutes=1)),
    ]
    assert [w.conversation_id for w in queue_order(waiting)] == [4, 2, 3, 1]


def test_least_busy_fills_the_emptiest_agent_first():
    agents = [Agent(user_id=1, capacity=3, load=2), Agent(user_id=2, capacity=3, load=0)]
    plan = plan_assignments([Waiting(c, 1, T0 + timedelta(seconds=c)) for c in (1, 2, 3)], agents, strategy="least_busy", now=T0)
    assert plan.assignments == [(1, 2), (2, 2), (3, 1)]


def test_round_robin_takes_turns_starting_with_the_longest_idle():
    agents = [
        Agent(user_id=1, capacity=5, load=0, last_assigned_at=T0 - timedelta(minutes=1)),
        Agent(user_id=2, capacity=5, load=4, last_assigned_at=T0 - timedelta(minutes=9)),
        Agent(user_id=3, capacity=5, load=0, last_assigned_at=None),
    ]
    plan = plan_assignments([Waiting(c, 1, T0 + timedelta(seconds=c)) for c in range(1, 6)], agents, strategy="round_robin", now=T0)
    assert [user for _c, user in plan.assignments] == [3, 2, 1, 3, 1]  # agent 2 is full after one


def test_when_everyone_is_at_capacity_the_rest_waits_in_queue_order():
    agents = [Agent(user_id=1, capacity=1, load=0), Agent(user_id=2, capacity=2, load=2)]
    waiting = [Waiting(1, 1, T0), Waiting(2, 3, T0 + timedelta(minutes=1)), Waiting(3, 1, T0 - timedelta(minutes=1))]
    plan = plan_assignments(waiting, agents, strategy="least_busy", now=T0)
    assert plan.assignments == [(2, 1)]  # the urgent one goes first
    assert plan.still_waiting == [3, 1]


def test_an_agent_who_missed_the_sla_is_not_given_it_back():
    agents = [Agent(user_id=1, capacity=5, load=0), Agent(user_id=2, capacity=5, load=3)]
    plan = plan_assignments([Waiting(1, 1, T0, exclude_user_id=1)], agents, strategy="least_busy", now=T0)
    assert plan.assignments == [(1, 2)]
    only_one = plan_assignments([Waiting(1, 1, T0, exclude_user_id=1)], agents[:1], strategy="least_busy", now=T0)
    assert only_one.still_waiting == [1]
