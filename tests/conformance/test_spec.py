"""Tests of the requirement loader and the history/result matcher."""

from __future__ import annotations

import json
import re
import string
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import pytest

from .spec import (
    SUITES,
    CallbackAction,
    format_history,
    generate_variables,
    load_requirement,
    load_requirements,
    match_history,
    match_result,
    substitute,
)

TIMESTAMP = datetime(2025, 1, 1, tzinfo=UTC)


def event(event_id: int, event_type: str, **fields: object) -> dict[str, object]:
    return {"EventType": event_type, "EventId": event_id, "EventTimestamp": TIMESTAMP, **fields}


STEP_HISTORY = [
    event(1, "ExecutionStarted", Id="exec", ExecutionStartedDetails={"Input": {"Payload": "null"}}),
    event(2, "StepStarted", SubType="Step", Id="op-1", Name="greet", StepStartedDetails={}),
    event(
        3,
        "StepFailed",
        SubType="Step",
        Id="op-1",
        Name="greet",
        StepFailedDetails={
            "Error": {"Payload": {"ErrorType": "TransientError", "ErrorMessage": "boom"}},
            "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 3},
        },
    ),
    event(4, "InvocationCompleted", InvocationCompletedDetails={"RequestId": "r-1"}),
    event(
        5,
        "StepSucceeded",
        SubType="Step",
        Id="op-1",
        Name="greet",
        StepSucceededDetails={
            "Result": {"Payload": '"Hello"', "Truncated": False},
            "RetryDetails": {"CurrentAttempt": 2},
        },
    ),
]


class TestMatchHistory:
    def test_exact_expectation_matches(self) -> None:
        expected = [
            {"EventType": "StepStarted", "SubType": "Step", "EventId": 2, "Id": "op-1"},
            {
                "EventType": "StepSucceeded",
                "EventId": 5,
                "StepSucceededDetails": {
                    "Result": {"Payload": '"Hello"', "Truncated": False},
                    "RetryDetails": {"CurrentAttempt": 2},
                },
            },
        ]
        assert match_history(expected, STEP_HISTORY) == []

    def test_unlisted_events_and_keys_are_not_checked(self) -> None:
        assert match_history([{"EventType": "StepFailed", "EventId": 3}], STEP_HISTORY) == []

    def test_wildcard_matches_any_value_including_datetimes(self) -> None:
        expected = [{"EventId": 3, "EventTimestamp": "*", "StepFailedDetails": "*", "Name": "*"}]
        assert match_history(expected, STEP_HISTORY) == []

    def test_empty_mapping_matches_any_value(self) -> None:
        expected = [
            {"EventId": 3, "StepFailedDetails": {"Error": {}, "RetryDetails": {}}},
            {"EventId": 4, "InvocationCompletedDetails": {}},
            {"EventId": 2, "Name": {}},
        ]
        assert match_history(expected, STEP_HISTORY) == []

    def test_wildcard_still_requires_the_key(self) -> None:
        problems = match_history([{"EventId": 2, "ParentId": "*"}], STEP_HISTORY)
        assert problems == ["EventId 2 (?) ParentId: missing; expected '*'"]

    def test_missing_key_names_event_and_path(self) -> None:
        expected = [
            {
                "EventType": "StepSucceeded",
                "EventId": 5,
                "StepSucceededDetails": {"RetryDetails": {"NextAttemptDelaySeconds": 1}},
            }
        ]
        [problem] = match_history(expected, STEP_HISTORY)
        assert problem.startswith("EventId 5 (StepSucceeded)")
        assert "StepSucceededDetails.RetryDetails.NextAttemptDelaySeconds: missing" in problem

    def test_value_mismatch_names_expected_and_actual(self) -> None:
        expected = [
            {"EventId": 3, "StepFailedDetails": {"RetryDetails": {"CurrentAttempt": 2}}},
        ]
        assert match_history(expected, STEP_HISTORY) == [
            "EventId 3 (?) StepFailedDetails.RetryDetails.CurrentAttempt: expected 2, actual 1"
        ]

    def test_null_expectation_accepts_absent_or_null(self) -> None:
        expected = [{"EventId": 2, "ParentId": None}, {"EventId": 2, "Name": None}]
        assert match_history(expected, STEP_HISTORY) == [
            "EventId 2 (?) Name: expected null or absent, actual 'greet'"
        ]

    def test_binding_takes_first_value_and_enforces_it(self) -> None:
        expected = [
            {"EventId": 2, "Id": "${ID1}"},
            {"EventId": 3, "Id": "${ID1}"},
            {"EventId": 5, "Id": "${ID1}"},
        ]
        assert match_history(expected, STEP_HISTORY) == []

    def test_binding_mismatch_reports_where_it_was_bound(self) -> None:
        history = [*STEP_HISTORY, event(6, "StepStarted", Id="op-2")]
        expected = [{"EventId": 2, "Id": "${ID1}"}, {"EventId": 6, "Id": "${ID1}"}]
        assert match_history(expected, history) == [
            "EventId 6 (?) Id: expected ${ID1} = 'op-1' (bound at EventId 2 (?) Id), actual 'op-2'"
        ]

    def test_different_bindings_are_independent(self) -> None:
        history = [*STEP_HISTORY, event(6, "StepStarted", Id="op-2")]
        expected = [{"EventId": 2, "Id": "${ID1}"}, {"EventId": 6, "Id": "${ID2}"}]
        assert match_history(expected, history) == []

    def test_bindings_apply_across_fields(self) -> None:
        history = [event(2, "ContextStarted", Id="ctx"), event(3, "StepStarted", ParentId="ctx")]
        expected = [{"EventId": 2, "Id": "${CTX1}"}, {"EventId": 3, "ParentId": "${CTX1}"}]
        assert match_history(expected, history) == []

    def test_regex_applies_to_str_of_actual(self) -> None:
        expected = [
            {
                "EventId": 3,
                "StepFailedDetails": {
                    "Error": {"Payload": {"ErrorType": "${/.*TransientError$/}"}},
                    "RetryDetails": {"NextAttemptDelaySeconds": "${/^[0-5]$/}"},
                },
            }
        ]
        assert match_history(expected, STEP_HISTORY) == []

    def test_regex_mismatch(self) -> None:
        expected = [
            {
                "EventId": 3,
                "StepFailedDetails": {"RetryDetails": {"CurrentAttempt": "${/^[2-9]$/}"}},
            }
        ]
        assert match_history(expected, STEP_HISTORY) == [
            "EventId 3 (?) StepFailedDetails.RetryDetails.CurrentAttempt: "
            "expected a match for /^[2-9]$/, actual 1"
        ]

    def test_numbers_compare_by_value_but_not_with_booleans(self) -> None:
        history = [event(2, "WaitStarted", WaitStartedDetails={"Duration": 2, "Flag": True})]
        assert (
            match_history([{"EventId": 2, "WaitStartedDetails": {"Duration": 2.0}}], history) == []
        )
        assert match_history([{"EventId": 2, "WaitStartedDetails": {"Flag": 1}}], history) == [
            "EventId 2 (?) WaitStartedDetails.Flag: expected 1, actual True"
        ]
        assert match_history([{"EventId": 2, "WaitStartedDetails": {"Duration": "2"}}], history)

    def test_lists_must_have_the_same_length(self) -> None:
        history = [event(2, "Custom", Items=[1, 2, 3])]
        assert match_history([{"EventId": 2, "Items": [1, "*", 3]}], history) == []
        [problem] = match_history([{"EventId": 2, "Items": [1, 2]}], history)
        assert problem.startswith("EventId 2 (?) Items: expected a list of 2 items, actual has 3")
        assert match_history([{"EventId": 2, "Items": [1, 5, 3]}], history) == [
            "EventId 2 (?) Items[1]: expected 5, actual 2"
        ]

    def test_shape_mismatch(self) -> None:
        assert match_history([{"EventId": 2, "Name": {"Nested": 1}}], STEP_HISTORY) == [
            "EventId 2 (?) Name: expected a mapping, actual 'greet'"
        ]
        assert match_history([{"EventId": 2, "Name": [1]}], STEP_HISTORY) == [
            "EventId 2 (?) Name: expected a list, actual 'greet'"
        ]

    def test_event_type_mismatch_skips_the_rest_of_the_event(self) -> None:
        expected = [
            {"EventType": "WaitStarted", "EventId": 2, "WaitStartedDetails": {"Duration": 1}}
        ]
        assert match_history(expected, STEP_HISTORY) == [
            "EventId 2 (WaitStarted): expected EventType 'WaitStarted', actual 'StepStarted'"
        ]

    def test_missing_event(self) -> None:
        assert match_history([{"EventType": "WaitSucceeded", "EventId": 9}], STEP_HISTORY) == [
            "EventId 9 (WaitSucceeded): missing; the actual history has 5 events"
        ]

    def test_expectation_without_event_id(self) -> None:
        assert match_history([{"EventType": "StepStarted"}], STEP_HISTORY) == [
            "expected event #1 has no EventId"
        ]

    def test_duplicate_event_ids_are_reported(self) -> None:
        history = [event(2, "StepStarted"), event(2, "StepSucceeded")]
        assert match_history([], history) == ["actual history has EventId 2 more than once"]

    def test_all_mismatches_are_reported(self) -> None:
        expected = [
            {"EventId": 2, "Name": "other", "Id": "op-9"},
            {"EventId": 4, "InvocationCompletedDetails": {"RequestId": "r-2"}},
        ]
        assert len(match_history(expected, STEP_HISTORY)) == 3


class Status(Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class TestMatchResult:
    def test_status_accepts_enum_members_and_strings(self) -> None:
        expected = {"ExecutionStatus": "SUCCEEDED"}
        assert match_result(expected, status=Status.SUCCEEDED, result=None) == []
        assert match_result(expected, status="SUCCEEDED", result=None) == []
        assert match_result(expected, status=Status.FAILED, result=None) == [
            "ExecutionStatus: expected 'SUCCEEDED', actual 'FAILED'"
        ]

    def test_result_is_json_decoded(self) -> None:
        expected = {"Result": "Hello, World!"}
        assert match_result(expected, status="SUCCEEDED", result='"Hello, World!"') == []
        assert match_result(expected, status="SUCCEEDED", result='"Hello"') == [
            "Result: expected 'Hello, World!', actual 'Hello'"
        ]

    def test_structured_result(self) -> None:
        expected = {"Result": {"user": {"name": "Alice", "tags": ["admin"]}, "count": 1}}
        result = json.dumps({"count": 1, "user": {"tags": ["admin"], "name": "Alice"}})
        assert match_result(expected, status="SUCCEEDED", result=result) == []
        result = json.dumps({"count": 2, "user": {"tags": ["admin"], "name": "Alice"}})
        assert match_result(expected, status="SUCCEEDED", result=result) == [
            "Result count: expected 1, actual 2"
        ]

    def test_a_string_that_looks_like_json_is_compared_after_decoding(self) -> None:
        expected = {"Result": '"HELLO"'}
        assert match_result(expected, status="SUCCEEDED", result=json.dumps('"HELLO"')) == []
        assert match_result(expected, status="SUCCEEDED", result='"HELLO"')

    def test_null_result_accepts_json_null_or_absent(self) -> None:
        expected = {"Result": None}
        assert match_result(expected, status="SUCCEEDED", result="null") == []
        assert match_result(expected, status="SUCCEEDED", result=None) == []
        assert match_result(expected, status="SUCCEEDED", result='"x"') == [
            "Result: expected null or absent, actual 'x'"
        ]

    def test_expected_result_needs_a_result(self) -> None:
        assert match_result({"Result": "x"}, status="SUCCEEDED", result=None) == [
            "Result: missing; expected 'x'"
        ]

    def test_result_not_listed_is_not_checked(self) -> None:
        assert match_result({"ExecutionStatus": "FAILED"}, status="FAILED", result="{") == []

    def test_invalid_json(self) -> None:
        assert match_result({"Result": "x"}, status="SUCCEEDED", result="{") == [
            "Result: not a JSON document: '{'"
        ]

    def test_error(self) -> None:
        expected = {"Error": {"ErrorType": "${/Error$/}", "ErrorMessage": "not approved"}}
        error = {"ErrorType": "CallbackError", "ErrorMessage": "not approved"}
        assert match_result(expected, status="FAILED", result=None, error=error) == []
        assert match_result(expected, status="FAILED", result=None) == [
            "Error: missing; expected {'ErrorType': '${/Error$/}', 'ErrorMessage': 'not approved'}"
        ]


class TestVariables:
    def test_generation_is_deterministic_per_seed(self) -> None:
        declared = {"INPUT_1": "${GEN_STR:8}", "INPUT_2": "${GEN_STR:12}"}
        first = generate_variables(declared, seed="step/1-7")
        assert first == generate_variables(declared, seed="step/1-7")
        assert first != generate_variables(declared, seed="step/1-17")
        assert len(first["INPUT_1"]) == 8
        assert len(first["INPUT_2"]) == 12
        assert set(first["INPUT_1"] + first["INPUT_2"]) <= set(string.ascii_letters + string.digits)

    def test_variables_may_refer_to_earlier_ones(self) -> None:
        values = generate_variables({"A": "fixed", "B": "${A}-${GEN_STR:3}", "N": 5}, seed="s")
        assert re.fullmatch(r"fixed-[A-Za-z0-9]{3}", values["B"])
        assert values["N"] == 5

    def test_substitution_reaches_nested_strings_and_leaves_other_tokens(self) -> None:
        document = {
            "Input": "${INPUT_1}",
            "Payload": '"${INPUT_1}"',
            "List": ["${INPUT_1}", "${ID1}", "${/^[0-5]$/}", 3],
            "Count": "${N}",
        }
        assert substitute(document, {"INPUT_1": "abc", "N": 7}) == {
            "Input": "abc",
            "Payload": '"abc"',
            "List": ["abc", "${ID1}", "${/^[0-5]$/}", 3],
            "Count": 7,
        }


REQUIREMENT_YAML = """\
---
description: A callback test
handler: |
  Handler ${ID1} prose.
Variables:
  CB_NAME: ${GEN_STR:10}
  CB_PAYLOAD: ${GEN_STR:12}
Input: ${CB_NAME}
ExpectedResult:
  ExecutionStatus: SUCCEEDED
CallbackActions:
  - CallbackName: ${CB_NAME}
    Operation: heartbeat
  - CallbackName: '*'
    Operation: success
    Payload: ${CB_PAYLOAD}
    Delay: 1
  - Operation: success
ExpectedExecutionHistory:
  - EventType: CallbackStarted
    EventId: 2
    Id: ${ID1}
    Name: ${CB_NAME}
  - EventType: CallbackSucceeded
    EventId: 4
    CallbackSucceededDetails:
      Result:
        Payload: '"${CB_PAYLOAD}"'
"""


class TestLoadRequirement:
    def test_variables_are_substituted_everywhere(self, tmp_path: Path) -> None:
        path = tmp_path / "callback" / "4-99.yaml"
        path.parent.mkdir()
        path.write_text(REQUIREMENT_YAML, encoding="utf-8")
        requirement = load_requirement(path)
        name, payload = requirement.variables["CB_NAME"], requirement.variables["CB_PAYLOAD"]
        assert requirement.test_id == "callback/4-99"
        assert requirement.input == name
        assert requirement.expected_result == {"ExecutionStatus": "SUCCEEDED"}
        assert requirement.expected_history[0]["Name"] == name
        assert requirement.expected_history[0]["Id"] == "${ID1}"
        assert requirement.expected_history[1]["CallbackSucceededDetails"] == {
            "Result": {"Payload": f'"{payload}"'}
        }
        assert requirement.callback_actions == [
            CallbackAction(callback_name=name, operation="heartbeat"),
            CallbackAction(
                callback_name="*", operation="success", payload=payload, has_payload=True, delay=1
            ),
            CallbackAction(callback_name="*", operation="success"),
        ]
        assert not requirement.optional

    def test_unknown_callback_operation_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="unknown callback operation 'complete'"):
            CallbackAction(callback_name="*", operation="complete")

    def test_callback_action_targets(self) -> None:
        assert CallbackAction(callback_name="*", operation="success").targets(None)
        assert CallbackAction(callback_name="a", operation="success").targets("a")
        assert not CallbackAction(callback_name="a", operation="success").targets("b")
        assert not CallbackAction(callback_name="a", operation="heartbeat").is_terminal


class TestShippedRequirements:
    def test_every_suite_loads(self) -> None:
        requirements = load_requirements()
        assert {requirement.suite for requirement in requirements} == set(SUITES)
        test_ids = [requirement.test_id for requirement in requirements]
        assert len(test_ids) == len(set(test_ids))
        assert test_ids[:3] == ["step/1-1", "step/1-2", "step/1-3"]

    @pytest.mark.parametrize("suite", SUITES)
    def test_no_declared_variable_is_left_unsubstituted(self, suite: str) -> None:
        for requirement in load_requirements(suite):
            resolved = {k: v for k, v in requirement.document.items() if k != "Variables"}
            text = json.dumps(resolved, default=str)
            for name in requirement.variables:
                assert f"${{{name}}}" not in text, requirement.test_id
            assert "${GEN_STR" not in text, requirement.test_id

    def test_generated_values_are_reproducible(self) -> None:
        first = {r.test_id: r.variables for r in load_requirements("callback")}
        second = {r.test_id: r.variables for r in load_requirements("callback")}
        assert first == second

    def test_every_expected_event_has_an_event_id(self) -> None:
        for requirement in load_requirements():
            for expected in requirement.expected_history:
                assert "EventId" in expected, requirement.test_id

    def test_requirements_match_an_ideal_history(self) -> None:
        # A history built from an expectation itself (bindings made concrete) must match it.
        requirement = next(r for r in load_requirements("child") if r.id == "3-1")
        concrete = json.loads(
            json.dumps(requirement.expected_history)
            .replace("${CTX1}", "ctx-1")
            .replace("${STEP1}", "step-1")
        )
        assert match_history(requirement.expected_history, concrete) == []


class TestFormatHistory:
    def test_one_line_per_event_with_short_ids(self) -> None:
        table = format_history(STEP_HISTORY, width=200).splitlines()
        assert len(table) == len(STEP_HISTORY) + 1
        assert table[0].split() == [
            "EventId",
            "EventType",
            "SubType",
            "Name",
            "Id",
            "ParentId",
            "Details",
        ]
        assert table[3].split()[:5] == ["3", "StepFailed", "Step", "greet", "op-1"]
        assert '"CurrentAttempt":1' in table[3]

    def test_long_details_are_truncated(self) -> None:
        history = [
            event(2, "StepSucceeded", StepSucceededDetails={"Result": {"Payload": "x" * 500}})
        ]
        [_, row] = format_history(history, width=40).splitlines()
        assert row.endswith("...")
        assert len(row) < 120

    def test_empty_history(self) -> None:
        assert format_history([]).split() == [
            "EventId",
            "EventType",
            "SubType",
            "Name",
            "Id",
            "ParentId",
            "Details",
        ]
