"""The vocabulary of the APIs Helix serves: keys of OpenAI and Anthropic request bodies and of the JSON
Schemas their tools carry, and the words their enumerations take (`user`, `auto`, `json_schema`).

A string that is exactly one of these words is the protocol talking, not anyone's data, so the PII walk
passes it by instead of analysing it: a chat body's keys and roles make up most of its strings, and a
history resent on every turn would otherwise pay for them again each time. Only whole strings count
(`"user"`, never `"user 4111..."`), and never a message's text, whose neighbours are joined across it.
"""

from __future__ import annotations

_REQUEST_KEYS = """
allowed_tools approximate arguments audio budget_tokens cache_control citations city content context country
custom data definition description detail dimensions disable_parallel_tool_use display effort enabled
encoding_format file file_data file_id filename format frequency_penalty function function_call functions
grammar id image_url include include_obfuscation include_usage input input_audio input_schema instructions
is_error json_schema logit_bias logprobs max_completion_tokens max_output_tokens max_tokens media_type
messages metadata modalities mode model moderation name output parallel_tool_calls parameters policy
prediction presence_penalty previous_response_id prompt prompt_cache_breakpoint prompt_cache_key
prompt_cache_options prompt_cache_retention reasoning reasoning_effort refusal region response_format role
safety_identifier schema search_context_size seed service_tier signature source stop stop_sequences store
stream stream_options strict suffix summary syntax system temperature text thinking timezone title
tool_call_id tool_calls tool_choice tool_use_id tools top_k top_logprobs top_p truncation ttl type url user
user_location verbosity voice web_search_options
"""
_SCHEMA_KEYS = """
$defs $ref $schema additionalProperties allOf anyOf const default definitions enum examples exclusiveMaximum
exclusiveMinimum items maxItems maxLength maxProperties maximum minItems minLength minProperties minimum
multipleOf not nullable oneOf pattern patternProperties prefixItems properties propertyNames required
uniqueItems
"""
_ENUM_VALUES = """
any array assistant auto base64 boolean developer disabled document enabled ephemeral file float function
function_call function_call_output high image input_file input_image input_text integer json_object low medium
message minimal none null number object output_text redacted_thinking required string text thinking tool
tool_result tool_use
"""

API_WORDS = frozenset((_REQUEST_KEYS + _SCHEMA_KEYS + _ENUM_VALUES).split())
