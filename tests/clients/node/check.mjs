// The Node openai package against Helix, as a user would call it; prints what it got as one JSON line.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "anything", maxRetries: 0 });
const out = {};
const chat = await client.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "hello node" }],
});
out.chat = chat.choices[0].message.content;
out.requestId = chat._request_id;
const stream = await client.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "node stream" }],
  stream: true,
});
out.stream = "";
for await (const chunk of stream) out.stream += chunk.choices[0]?.delta?.content ?? "";
const response = await client.responses.create({ model: "gpt-4o-mini", input: "node responses" });
out.responses = response.output_text;
const translated = await client.responses.create({ model: "anthropic/claude-3-5-haiku-latest", input: "node claude", stream: true });
out.translated = "";
for await (const event of translated) if (event.type === "response.output_text.delta") out.translated += event.delta;
out.model = (await client.models.retrieve("openai/gpt-4o")).id;
console.log(JSON.stringify(out));
