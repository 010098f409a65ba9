"""v16's data: one support subject (a transfer, a booking, a plan, an API...) asked about in several aspects.

A customer asking how long an international transfer takes wants another answer than one asking what it costs, what
its limit is, how to cancel or how to track it; v15's aspect families were general knowledge (illnesses, history,
animals, countries, food, files), and a blind support set (2026-12-06) served such support near-misses (flights,
bank transfers, currency exchange). Written after that set's aggregates named those topics and nothing else of it; a
new blind set measures what this buys.

Each template has `{a}` (the subject with its article or "my"), `{x}` (its bare keyword form), or neither (a subject
of one kind). An aspect's templates are "same" among themselves; two aspects of a subject, or one aspect of two
neighbouring subjects, are "different".
"""

from __future__ import annotations

ASPECTS: dict[str, list[str]] = {
    # money moving
    "fee": [
        "How much does {a} cost?",
        "What's the fee for {a}?",
        "{x} fee",
        "Are there any charges for {a}?",
        "how much do you charge for {a}",
        "What will I pay in fees for {a}?",
    ],
    "duration": [
        "How long does {a} take?",
        "{x} processing time",
        "How many days does {a} take to go through?",
        "How long until {a} is completed?",
        "how long for {a} to clear",
        "When will {a} be done if I start it today?",
    ],
    "limit": [
        "Is there a limit on {a}?",
        "What's the maximum amount for {a}?",
        "{x} limit",
        "How much money can I move with {a}?",
        "max amount for {x}",
        "Is there a cap on how much {a} can be for?",
    ],
    "cancel money": [
        "Can I cancel {a}?",
        "How do I cancel {a}?",
        "cancel {x}",
        "Is it possible to stop {a} after I've submitted it?",
        "how to call off {a}",
        "I made {a} by mistake, can I cancel it?",
    ],
    "track": [
        "How do I track {a}?",
        "Where can I see the status of {a}?",
        "{x} status",
        "How can I check where {a} is right now?",
        "track {x}",
        "Is there a way to follow {a} until it arrives?",
    ],
    "details needed": [
        "What details do I need for {a}?",
        "What information do I need to set up {a}?",
        "{x} required details",
        "What do I need to have ready to make {a}?",
        "what info is needed for {a}",
    ],
    # bookings
    "cancel booking": [
        "How do I cancel {a}?",
        "cancel {x}",
        "Is it possible to cancel {a}?",
        "I need to cancel {a}, what do I do?",
        "Can {a} be cancelled?",
    ],
    "change booking": [
        "How do I change the date of {a}?",
        "reschedule {x}",
        "Can I move {a} to another day?",
        "Is it possible to reschedule {a}?",
        "change date {x}",
    ],
    "refund booking": [
        "Can I get a refund for {a}?",
        "{x} refund",
        "Is {a} refundable?",
        "How do I get my money back for {a}?",
        "will I be refunded for {a}",
    ],
    "confirmation": [
        "Where is the confirmation for {a}?",
        "I didn't get a confirmation email for {a}",
        "{x} confirmation email",
        "How do I find the confirmation of {a}?",
        "resend confirmation {x}",
    ],
    "name on booking": [
        "Can I put {a} in someone else's name?",
        "How do I transfer {a} to another person?",
        "change the name on {x}",
        "Is it possible to give {a} to a friend?",
        "put {x} under a different name",
    ],
    "add person": [
        "How do I add another person to {a}?",
        "add a guest to {x}",
        "Can I add someone to {a}?",
        "Is it possible to add one more person to {a}?",
        "add extra person {x}",
    ],
    # returns
    "return window": [
        "How long do I have to return {a}?",
        "return window for {x}",
        "How many days do I have to send back {a}?",
        "Is it too late to return {a} I bought a month ago?",
        "deadline to return {x}",
    ],
    "return cost": [
        "Do I have to pay to return {a}?",
        "{x} return shipping cost",
        "Is returning {a} free?",
        "Who pays the postage when I send back {a}?",
        "return shipping fee {x}",
    ],
    "return how": [
        "How do I return {a}?",
        "return {x}",
        "What are the steps to send back {a}?",
        "I want to return {a}, what do I do?",
        "how to send back {a}",
    ],
    "return refund time": [
        "How long does the refund take after I return {a}?",
        "{x} refund timing after return",
        "When do I get my money back for {a} I returned?",
        "I sent back {a} last week, when will the refund arrive?",
    ],
    "exchange": [
        "Can I exchange {a} instead of returning it?",
        "exchange {x} for another size",
        "Is it possible to swap {a} for a different one?",
        "I'd rather exchange {a} than get a refund, how?",
    ],
    # APIs
    "rate limit": [
        "What is the rate limit of {a}?",
        "{x} rate limit",
        "How many requests per minute can I make to {a}?",
        "Will I get throttled if I call {a} too often?",
        "requests per second allowed on {x}",
    ],
    "auth": [
        "How do I authenticate with {a}?",
        "{x} authentication",
        "What credentials does {a} need?",
        "How do I pass my API key to {a}?",
        "auth for {x}",
    ],
    "pagination": [
        "How do I paginate results from {a}?",
        "{x} pagination",
        "How do I get the next page of results from {a}?",
        "Does {a} return everything at once or in pages?",
        "page through {x} results",
    ],
    "errors": [
        "What do the error codes from {a} mean?",
        "{x} error codes",
        "list of error codes for {a}",
        "How do I handle errors returned by {a}?",
    ],
    "sandbox": [
        "Is there a test environment for {a}?",
        "{x} sandbox",
        "Can I try {a} without touching real data?",
        "How do I test {a} safely before going live?",
    ],
    # plans
    "price": [
        "How much does {a} cost?",
        "{x} price",
        "What's the monthly price of {a}?",
        "How much do I pay for {a}?",
        "pricing for {x}",
    ],
    "features": [
        "What's included in {a}?",
        "{x} features",
        "What do I get with {a}?",
        "What does {a} come with?",
        "which features are in {x}",
    ],
    "trial": [
        "Is there a free trial of {a}?",
        "{x} free trial",
        "Can I try {a} for free first?",
        "does {a} have a trial period",
    ],
    "seats": [
        "How many users can I add on {a}?",
        "{x} user limit",
        "How many team members does {a} allow?",
        "max seats on {x}",
    ],
    "cancel plan": [
        "How do I cancel {a}?",
        "cancel {x}",
        "Can I stop {a} at any time?",
        "I want to end {a}, how?",
    ],
    # roaming
    "roaming cost": [
        "How much does roaming cost in {a}?",
        "roaming charges {x}",
        "What will I pay to use my phone in {a}?",
        "Is using data in {a} expensive on my plan?",
    ],
    "roaming on": [
        "How do I turn on roaming for my trip to {a}?",
        "activate roaming {x}",
        "What do I need to do so my phone works in {a}?",
        "set up my phone before travelling to {a}",
    ],
    "roaming coverage": [
        "Does my plan cover {a}?",
        "is {x} included in my plan",
        "Is {a} one of the countries my plan works in?",
        "coverage in {x}",
    ],
    "calls home": [
        "How much are calls home from {a}?",
        "calling home from {x} cost",
        "What does it cost to call my family from {a}?",
        "price of calls back home while in {a}",
    ],
    # one flight
    "baggage": [
        "How much luggage can I bring on my flight?",
        "baggage allowance",
        "What's the checked bag limit for my ticket?",
        "How many suitcases am I allowed to take?",
        "luggage allowance on my flight",
    ],
    "seat": [
        "How do I choose my seat on my flight?",
        "seat selection",
        "Can I pick where I sit on the plane?",
        "select a seat for my flight",
        "I want a window seat, how do I choose it?",
    ],
    "online check-in": [
        "How do I check in online for my flight?",
        "online check-in",
        "When does online check-in open for my flight?",
        "web check in for my flight",
        "Can I check in for my flight on the app?",
    ],
    "delay compensation": [
        "Can I get compensation for my delayed flight?",
        "flight delay compensation",
        "My flight was 4 hours late, am I owed anything?",
        "claim for a delayed flight",
        "What am I entitled to when my flight is delayed?",
    ],
    "cabin upgrade": [
        "How do I upgrade my flight to business class?",
        "upgrade to business class",
        "Can I pay to move up to business on my flight?",
        "business class upgrade for my ticket",
    ],
    "pet": [
        "Can I bring my dog on my flight?",
        "flying with a pet",
        "What are the rules for taking my cat on the plane?",
        "pet in cabin on my flight",
    ],
    "missed connection": [
        "What happens if I miss my connecting flight?",
        "missed connection",
        "My first flight was late and I missed my connection, what now?",
        "rebooking after a missed connecting flight",
    ],
    # one hotel stay
    "breakfast": [
        "Is breakfast included in my hotel booking?",
        "hotel breakfast included",
        "Do I get breakfast with my room?",
        "does my hotel rate come with breakfast",
    ],
    "parking": [
        "Does the hotel have parking?",
        "hotel parking",
        "Where can I park my car at the hotel?",
        "is there a car park at the hotel and what does it cost",
    ],
    "early arrival": [
        "Can I get into my hotel room early?",
        "early hotel room access",
        "My flight lands at 8am, can I have my room before the usual time?",
        "arrive at the hotel early morning room ready",
    ],
    "shuttle": [
        "Is there a shuttle from the airport to the hotel?",
        "hotel airport shuttle",
        "How do I get from the airport to the hotel, do you have a transfer bus?",
        "airport pickup to hotel",
    ],
    "hotel pets": [
        "Can I bring my dog to the hotel?",
        "hotel pet policy",
        "Are pets allowed in my hotel room?",
        "dog friendly hotel room",
    ],
    "wifi": [
        "Is there free wifi at the hotel?",
        "hotel wifi",
        "How do I connect to the internet in my hotel room?",
        "hotel wifi password and cost",
    ],
}

SUBJECTS = {  # a kind of subject -> (with its article or "my", keyword form)
    "money": [
        ("an international wire transfer", "international wire transfer"),
        ("a domestic bank transfer", "domestic bank transfer"),
        ("a SEPA transfer", "sepa transfer"),
        ("an ACH transfer", "ach transfer"),
        ("a same-day payment", "same day payment"),
        ("a standing order", "standing order"),
        ("a currency exchange", "currency exchange"),
        ("a peer-to-peer payment", "p2p payment"),
        ("a money order", "money order"),
    ],
    "booking": [
        ("my flight booking", "flight booking"),
        ("my hotel reservation", "hotel reservation"),
        ("my train ticket", "train ticket"),
        ("my rental car booking", "rental car booking"),
        ("my bus ticket", "bus ticket"),
        ("my cruise booking", "cruise booking"),
        ("my holiday package", "holiday package"),
        ("my ferry ticket", "ferry ticket"),
        ("my concert ticket", "concert ticket"),
        ("my restaurant reservation", "restaurant reservation"),
    ],
    "returned": [
        ("a pair of shoes", "shoes"),
        ("a laptop", "laptop"),
        ("a sofa", "sofa"),
        ("a gift", "gift"),
        ("a phone", "phone"),
        ("a mattress", "mattress"),
        ("a sale item", "sale item"),
        ("a jacket", "jacket"),
    ],
    "api": [
        ("the payments API", "payments api"),
        ("the orders API", "orders api"),
        ("the search API", "search api"),
        ("the users API", "users api"),
        ("the files API", "files api"),
        ("the messaging API", "messaging api"),
        ("the analytics API", "analytics api"),
        ("the billing API", "billing api"),
    ],
    "plan": [
        ("the Pro plan", "pro plan"),
        ("the Business plan", "business plan"),
        ("the Team plan", "team plan"),
        ("the Starter plan", "starter plan"),
        ("the Family plan", "family plan"),
        ("the Student plan", "student plan"),
        ("the Enterprise plan", "enterprise plan"),
        ("the Premium plan", "premium plan"),
    ],
    "country": [
        ("Mexico", "mexico"),
        ("Japan", "japan"),
        ("France", "france"),
        ("Canada", "canada"),
        ("Italy", "italy"),
        ("Spain", "spain"),
        ("Thailand", "thailand"),
        ("Brazil", "brazil"),
        ("Turkey", "turkey"),
        ("Greece", "greece"),
    ],
    "flight": [("", "")],
    "hotel": [("", "")],
}

ASPECTED = [  # a kind of subject, and the aspects each subject of it is asked in
    ("money", ("fee", "duration", "limit", "cancel money", "track", "details needed")),
    (
        "booking",
        ("cancel booking", "change booking", "refund booking", "confirmation", "name on booking", "add person"),
    ),
    ("returned", ("return window", "return cost", "return how", "return refund time", "exchange")),
    ("api", ("rate limit", "auth", "pagination", "errors", "sandbox")),
    ("plan", ("price", "features", "trial", "seats", "cancel plan")),
    ("country", ("roaming cost", "roaming on", "roaming coverage", "calls home")),
    (
        "flight",
        ("baggage", "seat", "online check-in", "delay compensation", "cabin upgrade", "pet", "missed connection"),
    ),
    ("hotel", ("breakfast", "parking", "early arrival", "shuttle", "hotel pets", "wifi")),
]


def asked(aspect: str, subject: tuple[str, str]) -> list[str]:
    """An aspect's questions of one subject, each starting as a question does."""
    a, x = subject
    questions = [q.format(a=a, x=x).strip() for q in ASPECTS[aspect]]
    return [q[0].upper() + q[1:] if q.endswith("?") else q for q in questions]
