"""The vocabulary of the APIs Helix serves: keys of OpenAI and Anthropic request and answer bodies and of
the JSON Schemas their tools carry, and the words their enumerations take (`user`, `auto`, `json_schema`,
`chat.completion`, `end_turn`).

A string that is exactly one of these words is the protocol talking, not anyone's data, so the PII walk
passes it by instead of analysing it: a chat body's keys and roles make up most of its strings (a history
resent on every turn would otherwise pay for them again each time), and so do an answer's, checked before
the cache keeps it (`usage`, `prompt_tokens`, `finish_reason`). Only whole strings count (`"user"`, never
`"user 4111..."`), and never a message's text, whose neighbours are joined across it.
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
_ANSWER_KEYS = """
accepted_prediction_tokens annotations audio_tokens bytes cache_creation cache_creation_input_tokens
cache_miss_reason cache_missed_input_tokens cache_read_input_tokens cache_write_tokens cached_tokens caller
categories category category_applied_input_types category_scores choices citation cited_text code completion_tokens
completion_tokens_details container content_block created delta diagnostics document_index document_title embedding
encrypted_content encrypted_index encrypted_stdout end_block_index end_char_index end_index end_page_number
ephemeral_1h_input_tokens ephemeral_5m_input_tokens error_code error_message expires_at explanation file_type
finish_reason flagged image_tokens index inference_geo input_tokens is_file_update lines logprob new_lines
new_start num_lines obfuscation old_lines old_start output_tokens output_tokens_details page_age partial_json
prompt_tokens prompt_tokens_details reasoning_tokens rejected_prediction_tokens results retrieved_at return_code
search_result_index server_tool_use skill_id skills speed start_block_index start_char_index start_index
start_line start_page_number stderr stdout stop_details stop_reason stop_sequence system_fingerprint text_offset
text_tokens thinking_tokens token_logprobs tool_id tool_name tool_references toolset_name total_lines
total_tokens transcript url_citation usage version web_fetch_requests web_search_requests
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
chat.completion chat.completion.chunk citations_delta content_block_delta content_block_start content_block_stop
content_filter default embedding end_turn error flex input_json_delta length list message_delta message_start
message_stop pause_turn ping priority scale signature_delta standard stop stop_sequence text_completion text_delta
thinking_delta
"""

API_WORDS = frozenset((_REQUEST_KEYS + _ANSWER_KEYS + _SCHEMA_KEYS + _ENUM_VALUES).split())
