"""The must-match facts of the semantic-cache judge (no model), its word lists, and the gates before the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from helix.cache.judge import (
    Close,
    CrossEncoder,
    Judge,
    JudgeUnavailable,
    Verdict,
    adopt,
    aspects,
    facts,
    judge_for,
    wordlists,
)
from helix.config import CacheConfig

FACT_NEAR_MISSES = [
    # blind set I: an "in-" word against its "out-of-" word
    (
        "Is there a fee to withdraw cash from an in-network ATM?",
        "Is there a fee to withdraw cash from an out-of-network ATM?",
        "opposites",
    ),
    ("in-state tuition fees", "out-of-state tuition fees", "opposites"),
    ("Is this ATM in-network?", "Is this ATM out of network?", "opposites"),
    ("How much is a first-class ticket to Tokyo?", "How much is an economy ticket to Tokyo?", "cabin"),
    # blind set J: the class of a seat
    (
        "What's the checked baggage allowance for economy on international flights?",
        "What's the checked baggage allowance for business class on international flights?",
        "cabin",
    ),
    # numbers, spelled numbers, units
    ("Set a 5 minute timeout", "Set a 5 minimum timeout", "numbers"),
    ("convert 100 USD to EUR", "convert 200 USD to EUR", "numbers"),
    ("Can I return an item after 30 days?", "Can I return an item after sixty days?", "numbers"),
    ("What's the price for two seats?", "What's the price for three seats?", "numbers"),
    ("What's new in Python 3.12?", "What's new in Python 3.1?", "numbers"),
    ("Where is my order #48213?", "Where is my order #48231?", "numbers"),
    ("allocate 4GB of memory", "allocate 8 GB of memory", "numbers"),
    ("Convert 10 MB to KB", "Convert 10 GB to KB", "numbers"),
    ("How do I set a 5 minute timeout?", "How do I set a timeout?", "numbers"),
    ("What does a 404 error mean?", "What does a 500 error mean?", "numbers"),
    ("How to create a 2D array in Python?", "How to create a 3D array in Python?", "numbers"),
    ("What is an IPv4 address?", "what's an ipv6 address", "numbers"),
    # identifiers: an order's, a ticket's, a commit's (a helper's find: served each other's answers at 0.84-0.92)
    ("What is the status of order a7c4e2d9?", "What is the status of order 1d9e7f3a?", "identifiers"),
    ("Show me the details of ticket a7c4e2d9", "Show me the details of ticket 1d9e7f3a", "identifiers"),
    ("Revert commit c2b8f0e5", "Revert commit 8f3a2b1c", "identifiers"),
    ("Where is invoice INV00042?", "Where is my invoice?", "identifiers"),
    # literals
    ("What does `git rebase` do?", "What does `git reset` do?", "literals"),
    ("Fix 'undefined is not a function'", "Fix 'null is not a function'", "literals"),
    ("Open https://example.com/a", "Open https://example.com/b", "literals"),
    ("Email bob@example.com", "Email alice@example.com", "literals"),
    # symbols the model's tokenizer reads as unknown or alike
    ("Is 3 < 5?", "Is 3 > 5?", "symbols"),
    ("Is x >= 10 the same as x > 10?", "Is x <= 10 the same as x > 10?", "symbols"),
    ("What does rm -rf / do?", "What does rm -rf ./ do?", "symbols"),
    ("What is 2^10?", "What is 2*10?", "symbols"),
    ("What does 👍 mean in Slack?", "What does 👎 mean in Slack?", "symbols"),
    ("Is C++ faster than Python?", "Is C# faster than Python?", "symbols"),
    ("What does ?. do in TypeScript?", "What does ?? do in TypeScript?", "symbols"),
    ("What does the := operator do in Python?", "What does the = operator do in Python?", "symbols"),
    ("What does \\d match in a regex?", "What does \\D match in a regex?", "symbols"),
    ("What does git log -p show?", "What does git log -P show?", "symbols"),
    ("What does the regex \\d match?", "What does the regex \\D match?", "symbols"),
    ("Convert 3/4 to a decimal", "Convert 4/3 to a decimal", "symbols"),
    # tense, a time relative to now, the modality of a yes/no question, quantity; the parties of an act
    # a helper's support set (2026-12-06): a transfer's two sides, home against abroad, a stay's two ends, from/to
    (
        "What is the fee for receiving an international wire?",
        "What is the fee for sending an international wire?",
        "transfer",
    ),
    ("How can I import my data from a CSV file?", "is there a way to download all my data in csv?", "transfer"),
    ("What is the fee for sending a domestic wire transfer?", "fee for an international wire transfer", "scope"),
    ("What time is check-out at the hotel?", "What time can we check into the hotel?", "stay"),
    ("Do you ship from Canada?", "Do you ship to Canada?", "opposites"),
    ("Did my payment go through?", "Will my payment go through?", "tense"),
    ("Why did my build fail?", "why will my build fail", "tense"),
    ("Has my subscription been renewed?", "Will my subscription be renewed?", "tense"),
    ("What did Apple announce?", "What will Apple announce?", "tense"),
    ("What were sales like yesterday?", "What were sales like today?", "time"),
    ("Can I book a table for this weekend?", "Can I book a table for next weekend?", "time"),
    ("Can I use my own domain?", "Should I use my own domain?", "modality"),
    ("Can the admin see my private messages?", "Should the admin see my private messages?", "modality"),
    ("Is my flight delayed?", "Why is my flight delayed?", "question"),
    ("Who founded Microsoft?", "Did Bill Gates found Microsoft?", "question"),
    ("Hi, do I need to verify my email?", "Can I verify my email?", "modality"),
    ("Are all of the logs retained?", "Are none of the logs retained?", "quantity"),
    ("Must all tests pass before merging?", "must most tests pass before merging", "quantity"),
    ("Can the employer end the contract?", "Can the employee end the contract?", "opposites"),
    ("What does the payer see on the invoice?", "What does the payee see on the invoice?", "opposites"),
    # negation
    ("Can I return an item that was opened?", "Can I return an item that was not opened?", "negation"),
    ("I received my order", "I didn't receive my order", "negation"),
    ("Which birds can fly?", "Which birds can't fly?", "negation"),
    # a reply's yes or no (faults round 17: "no" served the answer to "yes" after "Do you want me to proceed?")
    ("yes", "no", "reply"),
    ("Yes, go ahead", "No, don't", "reply"),
    ("Sure, do it", "please don't", "reply"),
    ("Yes please", "No thanks", "reply"),
    ("How to run a container as root", "How to run a container as non-root", "negation"),
    ("How to check if a list is empty in Python?", "How to check if a list is not empty in Python?", "negation"),
    # direction, argument order
    ("convert 100 USD to EUR", "convert 100 EUR to USD", "numbers"),
    ("How do I convert USD to EUR?", "How do I convert EUR to USD?", "direction"),
    # a greeting before or thanks after one question does not hide two words trading places
    ("How many yen do I get for my pounds?", "Hello! How many pounds do I get for my yen? thanks", "direction"),
    ("Dogs, are they faster than cats?", "Cats, are they faster than dogs?", "direction"),
    ("Translate 'thank you' from English to French", "Translate 'thank you' from French to English", "direction"),
    ("Convert a list to a tuple", "Convert a tuple to a list", "direction"),
    ("Switch from the annual plan to the monthly plan", "Switch from the monthly plan to the annual plan", "direction"),
    ("transfer money from savings to checking", "transfer money to savings from checking", "direction"),
    ("Merge main into my branch", "Merge my branch into main", "direction"),
    ("Merge main into my feature branch", "Merge my feature branch into main", "direction"),
    ("How do I move my photos to Google Drive?", "move google drive to my photos", "direction"),
    ("Replace tabs with spaces", "Replace spaces with tabs", "direction"),
    ("I want to move from Basic to Pro", "I want to move from Pro to Basic", "direction"),
    (
        "Can I get the brand name drug instead of the generic version?",
        "Can I get the generic version instead of the brand name drug?",
        "direction",
    ),
    # a story's time counts against another story's time: a return window
    ("I bought this 40 days ago, can I return it?", "I bought this 5 days ago, can I return it?", "numbers"),
    # a product's model name in lower case is a name too
    ("Is this game available on Xbox?", "is this game available on ps5?", "entities"),
    # who acted: the asker or a third party
    ("The driver canceled my ride, will I be charged?", "I cancelled my ride, will I be charged?", "doer"),
    ("my booking was cancelled by the host, refund?", "I cancelled my booking, do I get a refund?", "doer"),
    # one's source is the other's destination, whatever the other end is called
    ("Can I transfer my save from PC to PlayStation?", "can i move my save from ps to pc", "direction"),
    ("How do I switch from Windows to Mac?", "switching from mac to linux, how?", "direction"),
    ("Does a dog see better than a cat at night?", "Does a cat see better than a dog at night?", "direction"),
    ("Is a dog faster than a cat or a horse?", "Is a horse faster than a cat or a dog?", "direction"),
    ("What is 30 degrees Celsius in Fahrenheit?", "What is 30 degrees Fahrenheit in Celsius?", "direction"),
    ("I can log in on mobile but not on desktop", "I can log in on desktop but not on mobile", "direction"),
    ("Why is my charge in EUR instead of USD?", "Why is my charge in USD instead of EUR?", "direction"),
    # opposites: WordNet antonyms, negative prefixes, reversed particles
    ("How can I enable automatic renewal?", "How can I disable automatic renewal?", "opposites"),
    ("How do I upgrade my plan?", "i want to downgrade my plan", "opposites"),
    ("How do I import contacts?", "export my contacts", "opposites"),
    ("How do I block a user?", "how to unblock someone's account", "opposites"),
    ("How do I connect my bank?", "Disconnecting my bank account", "opposites"),
    ("How do I activate my card?", "deactivate card", "opposites"),
    ("How do I turn on auto-renew?", "switch off auto renewal", "opposites"),
    ("How do I log in?", "log out of the app", "opposites"),
    ("Why do days get longer in summer?", "Why do days get shorter in summer?", "opposites"),
    ("How do I make the font bigger?", "how to make the text smaller", "opposites"),
    ("Which plan is the cheapest?", "which plan is the most expensive", "opposites"),
    ("How can I make my profile public?", "make profile private", "opposites"),
    ("How do I add an item at the beginning of a list?", "How do I add an item at the end of a list?", "opposites"),
    ("How do I find the max value in a column?", "How do I find the min value in a column?", "opposites"),
    ("sort the results in asc order", "sort the results in desc order", "opposites"),
    ("Should I stretch before a run?", "should i stretch after a run", "opposites"),
    ("Is the cable above the shelf?", "Is the cable below the shelf?", "opposites"),
    ("How do I encrypt a file with openssl?", "How do I decrypt a file with openssl?", "opposites"),
    ("How do I upload a file to S3?", "download a file from s3", "opposites"),
    ("How to include a folder in the build?", "how do I exclude a folder from the build", "opposites"),
    ("redirect the input of a command", "redirect the output of a command", "opposites"),
    # the kind of answer asked for: a person or a reason against another kind, about the same words
    ("Who founded Microsoft?", "When was Microsoft founded?", "question"),
    ("Who invented the telephone?", "when was it invented", "question"),
    ("Why was my card declined?", "When was my card declined?", "question"),
    ("Where is the nearest store?", "why is the nearest store closed", "question"),
    # entities
    ("How do I read a file in Python?", "How do I read a file in Rust?", "entities"),
    ("python reverse list", "How do I reverse a list in JavaScript?", "entities"),
    ("Install Docker on Ubuntu", "Install Docker on macOS", "entities"),
    ("Do you ship to Canada?", "Do you ship to Mexico?", "entities"),
    ("Can I pay with PayPal?", "Can I pay with Apple Pay?", "entities"),
    ("What are your opening hours on Saturday?", "sunday hours?", "entities"),
    ("How to parse a .yaml file", "How to parse a toml file", "entities"),
    ("How to use useEffect in React?", "How to use useState in React?", "entities"),
    ("getElementById returns null", "querySelector returns null", "entities"),
    # versions and addresses (float() raised on them: a reviewer's find)
    ("How do I upgrade to 1.2.3?", "How do I upgrade to 1.2.4?", "numbers"),
    ("Is 10.0.0.1 blocked by the firewall?", "Is 10.0.0.2 blocked by the firewall?", "numbers"),
    # a number or a word the other side has too, written more times on one side (faults round 20: sets of them hid it)
    ("What is 2 + 2?", "What is 2 + 2 + 2?", "numbers"),
    ("What is 3 * 3?", "What is 3 * 3 * 3?", "numbers"),
    ("Evaluate: True and True", "Evaluate: True and False", "opposites"),
    ("Evaluate: False or False", "Evaluate: False or True", "opposites"),
    (
        "Is it safe to open the front door and open the back door at night?",
        "Is it safe to open the front door and close the back door at night?",
        "opposites",
    ),
    (
        "Should the minimum be less than the minimum allowed?",
        "Should the minimum be less than the maximum allowed?",
        "opposites",
    ),
    (
        "My input is valid and my output is valid, why does it fail?",
        "My input is valid and my output is invalid, why does it fail?",
        "opposites",
    ),
    # one of a thing against many of it (a helper's blind near-misses, 2026-12-07: 8 of its 22 wrong answers)
    ("how do I delete a message in whatsapp", "how do I delete all messages in whatsapp", "count"),
    ("select one column in pandas", "select multiple columns in pandas", "count"),
    ("export a single contact from outlook", "export all contacts from outlook", "count"),
    ("log out of this device", "log out of all devices", "count"),
    ("mute this conversation", "mute all conversations", "count"),
    # the part of a day; a country in capitals that lower-cases to "us" (the same set)
    ("schedule a meeting for tomorrow morning", "schedule a meeting for tomorrow evening", "daypart"),
    ("what time is sunrise in london today", "what time is sunset in london today", "daypart"),
    ("can a US company hire a UK contractor", "can a UK company hire a US contractor", "direction"),
    # a negated verb against its irregular past (a fourth helper's blind set)
    ("payment didn't go through but order shows pending", "payment went through but order shows pending", "negation"),
    ("I paid the invoice but it still says overdue", "I didn't pay the invoice but it says overdue", "negation"),
    # blind near-miss sets three and five (2026-12-07): served by the model at 0.84-0.99
    ("how do I rate my driver", "how does my driver rate me", "parties"),
    ("can my manager see my messages in slack", "can I see my manager's messages in slack", "parties"),
    ("can the agent call me back", "can I call the agent back", "parties"),
    ("i sent money to the wrong person, how do i get it back", "someone sent me money by mistake, what now", "doer"),
    ("what is an api key", "where do i find my api key", "question"),
    ("what is a 401 error", "how do i fix a 401 error", "question"),
    ("what causes high blood pressure", "what does high blood pressure cause", "question"),
    ("why is my laptop overheating", "what happens if my laptop overheats", "question"),
    ("how to speed up a video in premiere pro", "how to slow down a video in premiere pro", "opposites"),
    ("is returning an item within 30 days free", "is returning an item after 30 days free", "opposites"),
    ("how do i use list.append in python", "how do i use list.extend in python", "literals"),
    ("whats the max dose of ibuprofen per day", "whats the max dose of acetaminophen per day", "entities"),
    ("what's included in the gold support package", "what's included in the silver support package", "entities"),
    ("minimum ram for windows 11", "recommended ram for windows 11", "level"),
    ("what are the minimum specs to run cyberpunk", "what are the recommended specs to run cyberpunk", "level"),
    ("can i get a partial refund if i used half the product", "can i get a full refund if i used half of it", "extent"),
    ("whats the due date for my next payment", "whats the due date for my first payment", "position"),
    ("how do i remove a temporary tattoo", "how do i remove a permanent tattoo", "duration"),
    ("how can the landlord end a lease early", "how can the tenant end a lease early", "party"),
    ("how to delete a child account on xbox", "how to delete an adult account on xbox", "age"),
    # blind near-miss set six (2026-12-07): served at 0.84-0.99
    ("how long does the backup take", "how often does the backup run", "question"),
    (
        "do i qualify for a mortgage with a 620 credit score",
        "how do i apply for a mortgage with a 620 credit score",
        "question",
    ),
    ("am i eligible to join the loyalty program", "how do i join the loyalty program", "question"),
    ("is it legal to jailbreak my iphone", "how do i jailbreak my iphone", "question"),
    ("what's a typical interest rate on a car loan", "what exact interest rate will i get on my car loan", "precision"),
    (
        "i got charged an unexpected fee once last month",
        "i keep getting charged an unexpected fee every month",
        "recurrence",
    ),
    (
        "what would happen if i pushed my api key to github",
        "i just pushed my api key to github, what do i do",
        "reality",
    ),
    ("how do i update my billing address", "how do i update her billing address", "owner"),
    ("can i make changes to my booking", "my friend booked the trip, can i make changes to her booking", "owner"),
    ("what's the normal return window for electronics", "are there any exceptions to the return window", "exception"),
    ("are pets allowed at your hotel", "do you make an exception for service dogs at your hotel", "exception"),
    (
        "is the api rate limit the same for every endpoint",
        "which endpoints are exempt from the api rate limit",
        "exception",
    ),
    ("can i take ibuprofen with coffee", "can i take tylenol with coffee", "entities"),
    # blind near-miss set seven (2026-12-07)
    (
        "is there a fee for a 2nd checked bag on my flight",
        "is there a fee for a 3rd checked bag on my flight",
        "numbers",
    ),
    ("what happens if i cancel during the free trial", "what happens if i cancel after the free trial", "opposites"),
    ("whats the upper limit on team members on the pro plan", "whats the lower limit on team members", "bound"),
    ("do you offer weekly delivery", "do you offer biweekly delivery", "cycle"),
    ("is the annual fee charged on my card anniversary", "is the monthly fee charged on my card anniversary", "cycle"),
]

FACT_AGREEMENTS = [
    # a word said twice on one side, with no opposite of it more often on the other, is wording; so is a number said
    # twice in prose (only the operands of a sum count: a reviewer's pairs)
    ("How do I turn on dark mode? I want it on.", "How do I turn on dark mode?"),
    ("Is 17 a prime number?", "Is 17 prime? Check whether 17 is prime"),
    ("How do I upgrade to 1.2.3?", "how to upgrade to 1.2.3"),
    ("What does HTTP 200 mean?", "HTTP 200 OK: what does status 200 mean?"),
    ("Write a 500 word essay on climate", "Write an essay on climate, 500 words, no more than 500 words"),
    ("Summarize this in 3 bullet points", "Give me 3 bullet points, exactly 3, summarizing this"),
    ("How do I reset my password?", "HOW DO I RESET MY PASSWORD"),
    ("how to compute sha256 in python", "python sha256 hash"),  # a name with digits, no identifier
    ("how to make videos play in 1080p", "play video in 1080p"),
    ("What is the status of order a7c4e2d9?", "status of order A7C4E2D9 please"),
    ("How do I move my files from Dropbox to Google Drive?", "move files to google drive from dropbox"),
    ("My flight was cancelled, what are my options?", "The airline cancelled my flight, what are my options?"),
    ("Can you cancel my order?", "How do I cancel my order?"),
    ("Set up 2FA on my iPhone", "enable two-factor on iphone"),
    # ...and not against a question that tells no time
    ("moved out 10 days ago, how long until my deposit is returned?", "How long does it take to get my deposit back?"),
    ("I was charged twice for my order 5 minutes ago", "I was charged twice for my order"),
    ("I watched one episode and it's stuck on my home screen", "clear one title from the recently watched list"),
    ("Can I switch from the monthly plan to annual?", "switching from monthly to annual billing, how?"),
    ("I forgot my password, how can I reset it?", "can't remember my password and I'm locked out, what do I do"),
    ("set a 5 min timeout", "I need a timeout of five minutes"),
    ("How do I enable two-factor authentication?", "how to turn on 2FA"),
    ("I was charged twice for my order", "I got charged two times for my order"),
    ("I was charged twice for the same order.", "double charged, pls fix"),
    ("How do I merge two dictionaries in Python?", "python merge 2 dicts"),
    ("Convert 100 USD to EUR", "convert $100 to EUR"),
    ("Does the plan include 5 users?", "Does the plan include five users?"),
    ("How do I scale to 3 replicas?", "kubectl scale deployment to 3 pods"),
    ("How do I merge PDFs?", "merge pdf files"),
    ("Are you open on Saturdays?", "What time does the store open on Saturday?"),
    ("How do I delete a remote git branch?", "How can I remove a branch from GitHub using the command line?"),
    ("Hi, How do I cancel my order?", "how do i cancel my order"),
    ("How do I convert USD to EUR?", "What's the formula to change dollars into euros?"),
    ("How do I turn off two-factor authentication?", "How can I disable 2FA on my account?"),
    ("turn it off", "How do I switch the alarm off?"),
    ("How do I undo my last commit?", "I committed by mistake, how do I revert the last commit?"),
    ("How do I log in to my account?", "how do i log into my account"),
    ("docker stop all containers", "how can i stop all my docker containers"),
    ("reset password via email", "email to reset password"),
    ("How do I convert an mp3 file to text?", "convert mp3 files to text"),
    ("install python3", "how do I install python3"),
    ("IPv4 vs IPv6: what is the difference?", "what's the difference between ipv6 and ipv4"),
    ("Is a tomato a fruit or a vegetable?", "is tomato a vegetable or fruit"),
    ("Should I use IPv4 or IPv6?", "ipv6 or ipv4, which one should I use?"),
    ("How do I make the font bigger?", "make the text larger"),
    ("Is the fast plan faster?", "is the fast plan quicker"),
    ("How can I make a PDF file smaller?", "My PDF is too big to email, how do I shrink it?"),
    ("Which plan is cheaper?", "which plan is less expensive"),
    ("How can I delete the photo on my profile?", "delete profile photo"),
    # places, times and amounts are asked for one another when a user wants a status
    ("Where is my refund?", "When will my refund arrive?"),
    ("How often do I have to make layaway payments?", "when are layaway payments due"),
    ("What do I do when my card is declined?", "Why was my card declined?"),
    ("I don't know who has admin access on our account, where can I check?", "who are the admins of my org"),
    ("When I open the app, why does it crash?", "why does the app crash when I open it"),
    # relation words against other objects; clipped words that are not opposites' clips
    ("cancel trial before charge", "avoid being charged after trial"),
    ("set the max upload size", "set the maximum upload size"),
    ("How do I cancel a subscription I started inside an app?", "cancel in-app subscription"),
    ("How do I set a 5 min timeout?", "set a five minute timeout"),
    # a restriction on one side only is the model's call: the training data calls these the same question
    ("How do I center text horizontally in CSS?", "css center text"),
    # a list said in the other order, framed
    ("hi, what is faster, a cheetah or a horse", "What is faster, a horse or a cheetah? thx"),
    # a story told in another tense before the question; a class on one side only; "how can I" asks for a way
    ("My flight was late and I missed my connection, will you rebook me?", "will you rebook me on the next flight"),
    ("I was charged twice, will I get a refund?", "Will I be refunded for the double charge?"),
    ("Why did my build fail?", "why is my build failing"),
    ("How can I reset my password?", "How should I reset my password?"),
    ("Can you tell me how to export my data?", "how should I export my data"),
    ("Is there a way to reset my password?", "How do I reset my password?"),
    ("Is there any way to delete my entire account?", "how do I delete all of my account"),
    ("How do I add employees to payroll?", "add an employee to payroll"),
    ("Is 1,000 bigger than 999?", "is 1000 bigger than 999"),
    # symbols on one side only, prose marks, hyphens, slashes and apostrophes inside words, money and percent signs
    ("Is 3 < 5?", "is three less than five"),
    ("Two-factor login: how do I turn it on/off?!", "two-factor login - how to turn it on/off..."),
    ("Why don\u2019t I get 50% off with the $10 coupon?", "why don't i get 50 percent off with my $10 coupon"),
    ("What does rm -rf / do?", "what does `rm -rf /` do"),
    # a code identifier in both; prefixes that are no opposites' ("install" is no "outstall")
    ("How does useEffect work in React?", "explain the useEffect hook"),
    ("How do I install Docker?", "docker install steps"),
    ("How do I update my billing info?", "how to change billing information"),
    # one event told from both sides; "from" and "to" after other words
    ("I received the wrong item, what do I do?", "You sent me a different product than the one I ordered."),
    ("I can't control my thermostat from the app anymore.", "my thermostat isnt connecting to the app"),
    # counts that say the same: "more than one" is many, "how many" no count, "every" a rule for each one
    ("Can I have multiple accounts?", "Can I have more than one account?"),
    ("Is there a fee for every transfer?", "Is there a fee for a transfer?"),
    ("How many teaspoons are in a tablespoon?", "how many teaspoons make one tablespoon"),
    ("How do I add a user?", "how to add users"),
    ("Do you ship to the US?", "do you ship to the USA"),
    ("Can you contact us?", "how do I contact you"),
    ("I can't find my bank card anywhere.", "My payment card is nowhere to be found, what are the next steps?"),
    # a preposition before a possessive names a place, not a particle; "last week" is a time, not a place in a series;
    # a file name is no member of its format; the same party on both sides
    ("How do I make an overpayment on my mortgage?", "I don't know how to pay extra off my mortgage"),
    ("I don't know when my next layaway payment is due", "I started layaway last week, when do I pay?"),
    ("How do I read a JSON file in Python?", "I have a config.json file, how do I read it in Python?"),
    ("how do I rate my driver", "how can I give my driver a rating"),
    ("It says my package was delivered but I didn't get it.", "I was home all day and my parcel was left outside?"),
    ("what is an api key", "what's an API key"),
    # a thing repeated "more than once" is no single time; "my driver's license" is mine; "it's" owns nothing
    ("which emails appear more than once", "find emails that show up multiple times"),
    ("How do I renew my driver's license?", "I don't know how to renew my license before it expires"),
    ("it's saved in my vault, how do I share it?", "how do I share a login from my vault"),
    ("I forgot to skip next week's box", "how do I skip my box for next week"),
    # a reviewer's paraphrases the day's first facts refused: an exception a program throws, what my number is and
    # where to find it, eligibility asked both ways, users' and an app's things, passives, places after "on"/"off",
    # reduced relatives, chains and a missing space, a medicine's other names, "once" / "exactly" / "just" as words
    ("How do I catch an exception in Python?", "How do I handle errors in Python?"),
    ("Can you waive the late fee?", "Can I get the late fee removed?"),
    ("What is my account number?", "Where do I find my account number?"),
    ("What are your opening hours?", "Where can I find your opening hours?"),
    ("What is a VPN?", "How does a VPN work?"),
    ("Am I eligible for a refund?", "How do I know if I'm eligible for a refund?"),
    ("How do I reset my password?", "How can users reset their password?"),
    ("My app's not loading", "The app's not loading"),
    ("Why was I charged twice?", "Why did my bank charge me twice?"),
    ("Can I get a discount on the annual plan?", "Can I get money off the annual plan?"),
    ("Where can I see the emails sent from my account?", "Where can I see the emails I sent?"),
    ("Hi.How do I cancel my plan?", "Hi.Can I cancel my plan?"),
    ("what does datetime.datetime.now return", "what does datetime.now return"),
    ("Can I take Tylenol while pregnant?", "can i take acetaminophen while pregnant"),
    ("is paracetamol safe with alcohol", "is acetaminophen safe with alcohol"),
    ("Do I have to log in every time I open the app?", "Do I have to log in again once I reopen it?"),
    ("What exactly happens if I miss a payment?", "What typically happens if I miss a payment?"),
    ("Do I just reinstall the app?", "What if I reinstall the app?"),
    ("How do I invite a guest to my meeting?", "As the host, how do I invite someone to my meeting?"),
    ("How long between automatic backups?", "How often do automatic backups run?"),
    # a date or an age told on one side only; paying once a year rather than every month is annual billing
    (
        "We get the keys to our flat on the 1st, how do I set up electricity?",
        "how do i set up electricity at my new home",
    ),
    ("I'd rather pay once a year than every month.", "Can I switch to annual billing?"),
]


@pytest.mark.parametrize(("a", "b", "fact"), FACT_NEAR_MISSES)
def test_facts_veto_near_misses_both_ways(a: str, b: str, fact: str) -> None:
    for x, y in ((a, b), (b, a)):
        veto = facts.veto(x, y)
        assert veto is not None and veto.fact == fact, f"{x!r} / {y!r}: {veto}"


@pytest.mark.parametrize(("a", "b"), FACT_AGREEMENTS)
def test_facts_let_rewordings_through(a: str, b: str) -> None:
    assert facts.veto(a, b) is None and facts.veto(b, a) is None


DATA_FILES = [
    "aspects.txt",
    "coordinators.txt",
    "counts.txt",
    "determiners.txt",
    "entities.txt",
    "function_words.txt",
    "irregular_verbs.txt",
    "medicines.txt",
    "negation_skip.txt",
    "negations.txt",
    "negative_prefixes.txt",
    "number_words.txt",
    "opposite_prefixes.txt",
    "opposites.txt",
    "particles.txt",
    "question_words.txt",
    "relations.txt",
    "replies.txt",
    "units.txt",
]


def test_no_synonym_or_phrase_tables() -> None:
    """The meaning is the model's job: only lists of units, numbers, negations, opposites and names remain."""
    data = Path(facts.__file__).parent / "data"
    assert sorted(p.name for p in data.iterdir()) == DATA_FILES


@pytest.mark.parametrize("name", [name for name in DATA_FILES if name != "units.txt"])  # units: below
def test_word_lists_have_no_duplicates(name: str) -> None:
    entries = [line.split(":")[0].strip().lower() for line in wordlists.lines(name)]
    assert len(entries) == len(set(entries)), [e for e in entries if entries.count(e) > 1]


def test_an_irregular_past_belongs_to_one_verb() -> None:
    forms = [form for line in wordlists.lines("irregular_verbs.txt") for form in line.partition(":")[2].split()]
    assert len(forms) == len(set(forms)) and all(form != base for form, base in wordlists.irregular_verbs().items())


def test_a_count_word_says_one_thing() -> None:
    entries = [word for line in wordlists.lines("counts.txt") for word in line.partition(":")[2].split()]
    assert len(entries) == len(set(entries)) and set(wordlists.counts().values()) == {"one", "many"}


def test_a_reply_word_says_one_thing() -> None:
    seen: dict[str, str] = {}
    for line in wordlists.lines("replies.txt"):
        kind, _, spelled = line.partition(":")
        assert kind in ("yes", "no", "lead-in")
        for word in spelled.split():
            assert word not in seen and word.islower(), word
            seen[word] = kind
    assert not set(seen) & wordlists.words("negations.txt") - {"don't", "dont"}


def test_units_do_not_collide() -> None:
    """Each spelling names one unit, and no unit spelling is a prefix-stem of another unit's word
    ("min" is minute, "minimum" is not a unit at all)."""
    seen: dict[str, str] = {}
    for line in wordlists.lines("units.txt"):
        canonical, _, aliases = line.partition(":")
        for alias in [canonical.strip(), *aliases.split()]:
            assert alias not in seen or seen[alias] == canonical, f"{alias!r} in {seen[alias]!r} and {canonical!r}"
            seen[alias] = canonical
    assert "minimum" not in seen and "sign" not in seen
    assert not set(seen) & set(wordlists.number_words())
    assert not wordlists.words("negations.txt") & wordlists.words("negation_skip.txt")


def test_opposites_are_pairs_of_distinct_words_that_stay_distinct_when_stemmed() -> None:
    for a, b in wordlists.opposites() + wordlists.particles():
        assert a != b and a.isalpha() and b.isalpha(), (a, b)
    stems = facts._opposite_stems()
    assert all(stem not in others for stem, others in stems.items())
    assert ("disable", "enable") in wordlists.opposites()  # the file is WordNet's, sorted pairs
    assert not wordlists.words("determiners.txt") & {p for pair in wordlists.particles() for p in pair}


def test_relations_are_pairs_of_distinct_function_words_apart_from_particles() -> None:
    """A relation word reverses its relation to the same object ("before a run" / "after a run"); each is a
    preposition (a spaCy stop word), none is a particle or a determiner, no pair is listed twice."""
    pairs = [frozenset(pair) for pair in wordlists.relations()]
    assert len(pairs) == len(set(pairs)) and all(len(pair) == 2 for pair in pairs)
    relations = {w for pair in pairs for w in pair}
    assert set(relations) <= wordlists.words("function_words.txt")
    assert not set(relations) & {p for pair in wordlists.particles() for p in pair}
    assert not set(relations) & wordlists.words("determiners.txt")


def test_question_words_name_one_kind_of_answer_each() -> None:
    kinds = wordlists.question_words()
    assert set(kinds.values()) == {"person", "time", "duration", "frequency", "place", "reason", "amount"}
    assert all(w == w.lower() and 1 <= len(w.split()) <= 2 for w in kinds)
    assert {"who", "why", "when", "where", "how many"} <= set(kinds)


def test_aspect_classes_are_disjoint_and_each_fact_has_several() -> None:
    for fact, named in aspects.classes().items():
        phrases = [p for phrases in named.values() for p in phrases]
        assert len(named) >= 2 and len(phrases) == len(set(phrases)), fact
        assert all(w == w.lower() for p in phrases for w in p), fact


def test_clipped_opposites_are_clips_of_one_pair() -> None:
    clips = facts._clipped_opposites()
    assert clips["max"] == {"min"} and clips["asc"] == {"desc"}
    for x, others in clips.items():
        for y in others:
            assert x in clips[y] and x not in y and y not in x, (x, y)


def test_function_words_are_spacys_english_stop_words() -> None:
    from spacy.lang.en.stop_words import STOP_WORDS

    assert wordlists.words("function_words.txt") == {w for w in STOP_WORDS if w.isascii()}


class _NoModel(CrossEncoder):
    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        if pairs:
            raise AssertionError(f"the model was asked about {pairs}")
        return []


def test_gates_before_the_model() -> None:
    judge = Judge(_NoModel(), threshold=0.9)
    below, nan, same, vetoed = judge.verify(
        "How do I reset my password?",
        [
            ("How do I reset my password?", 0.49),
            ("How do I reset my password?", float("nan")),
            ("how do i  reset my password?", 0.99),  # case and spaces aside; punctuation would count
            ("How do I set a 5 minimum timeout?", 0.99),
        ],
        floor=0.5,
    )
    assert below == Verdict(False, 0.49, None, "similarity below 0.5")
    assert not nan.accepted and nan.score is None
    assert same == Verdict(True, 0.99, 1.0, "")
    assert not vetoed.accepted and vetoed.reason.startswith("numbers:")
    with pytest.raises(AttributeError):
        same.accepted = False  # type: ignore[misc]
    # equal but for case is no shortcut past the facts that read case: flags and regex escapes
    (escape,) = judge.verify("What does the regex \\d match?", [("what does the regex \\D match?", 1.0)], floor=0.5)
    assert not escape.accepted and escape.reason.startswith("symbols:")


class _FixedModel(CrossEncoder):
    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [0.95 if "sign" in b else 0.2 for _, b in pairs]


class _Sure(CrossEncoder):
    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [0.95] * len(pairs)


def test_a_kept_wording_is_judged_with_the_facts_of_the_question_its_answer_was_for() -> None:
    judge = Judge(_Sure(), threshold=0.9)
    asked = "What is the fee for receiving an international wire?"
    kept = [("international wire fee", 0.9)]
    (alone,) = judge.verify(asked, kept, 0.5)
    assert alone.accepted
    sent = "What is the fee for sending an international wire?"
    (vetoed,) = judge.verify(asked, kept, 0.5, origins=[sent])
    assert vetoed == Verdict(False, 0.9, None, "transfer: in vs out, against the question it answered")
    assert judge.first_accepted(asked, kept, 0.5, [sent]) is None
    assert judge.first_accepted(asked, kept, 0.5, ["What is the fee for an international wire?"]) == 0


class _SameAsTheWording(CrossEncoder):
    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [0.95 if "electricity" not in a + b else 0.14 for a, b in pairs]


def test_a_kept_wording_is_judged_by_the_model_against_the_question_its_answer_was_for() -> None:
    """A chain of wordings, each judged the same as the last, carried an answer to questions it does not answer."""
    judge = Judge(_SameAsTheWording(), threshold=0.82)
    asked, kept = "How do I submit a meter reading for my gas account?", [("submit my meter reading", 0.9)]
    (refused,) = judge.verify(asked, kept, 0.5, origins=["How do I submit a meter reading for my electricity account?"])
    assert refused == Verdict(False, 0.9, 0.14, "judge: 0.14 < 0.82, against the question it answered")
    assert judge.first_accepted(asked, kept, 0.5, ["How do I send in a meter reading?"]) == 0
    assert judge.verify(asked, kept, 0.5)[0].accepted


def test_model_scores_decide_the_rest() -> None:
    judge = Judge(_FixedModel(), threshold=0.9)
    hit, miss = judge.verify("How do I sign a PDF?", [("how can I sign a pdf", 0.9), ("merge pdfs", 0.7)], 0.5)
    assert hit == Verdict(True, 0.9, 0.95, "")
    assert miss == Verdict(False, 0.7, 0.2, "judge: 0.20 < 0.9")


class _Unsure(CrossEncoder):
    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [0.7] * len(pairs)


def test_a_close_candidate_needs_only_the_close_threshold() -> None:
    judge = Judge(_Unsure(), threshold=0.9, close=Close(similarity=0.8, threshold=0.6))
    close, far = judge.verify("How do I sign a PDF?", [("how can I sign a pdf", 0.85), ("pdf signing", 0.79)], 0.5)
    assert close == Verdict(True, 0.85, 0.7, "")
    assert far == Verdict(False, 0.79, 0.7, "judge: 0.70 < 0.9")
    judge.threshold = 0.5  # a close threshold never raises a lower plain one
    assert judge.threshold_at(0.85) == judge.threshold_at(0.6) == 0.5


def test_cache_settings_give_the_judge_its_thresholds_at_start_and_on_reload() -> None:
    judge = judge_for(CacheConfig())
    assert judge.close is None and judge.threshold_at(0.99) == CacheConfig().judge_threshold
    adopt(judge, CacheConfig(judge_threshold=0.9, judge_close_similarity=0.75, judge_close_threshold=0.6))
    assert (judge.threshold_at(0.7), judge.threshold_at(0.75)) == (0.9, 0.6)
    adopt(judge, CacheConfig())
    assert judge.close is None


class _Counting(CrossEncoder):
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def probabilities(self, pairs: list[tuple[str, str]]) -> list[float]:
        self.asked += pairs
        return [0.95 if "sign" in b and "online" not in a else 0.2 for a, b in pairs]


def test_serving_judges_the_nearest_alone_then_the_rest_and_the_second_order_only_when_needed() -> None:
    model = _Counting()
    judge = Judge(model, threshold=0.9)
    q = "How do I sign a PDF?"
    assert judge.first_accepted(q, [("how can I sign a pdf", 0.8), ("merge pdfs", 0.75)], 0.5) == 0
    assert model.asked == [(q, "how can I sign a pdf"), ("how can I sign a pdf", q)]  # a hit on the nearest
    model.asked.clear()
    candidates = [("merge pdfs", 0.8), ("sign a pdf online", 0.75), ("how can I sign a pdf", 0.7)]
    assert judge.first_accepted(q, candidates, 0.5) == 2
    assert model.asked == [
        (q, "merge pdfs"),  # refused in its first order: never read the other way round
        (q, "sign a pdf online"),
        (q, "how can I sign a pdf"),
        ("sign a pdf online", q),  # 0.95 one way, 0.2 the other: the lower one refuses it
        ("how can I sign a pdf", q),
    ]
    model.asked.clear()
    explained = judge.verify(q, [("merge pdfs", 0.8)], 0.5, both_orders=True)  # `helix cache search`
    assert model.asked == [(q, "merge pdfs"), ("merge pdfs", q)] and explained[0].score == 0.2
    assert judge.first_accepted("How do I sign a PDF?", [("merge pdfs", 0.8), ("sign", 0.4)], 0.5) is None
    assert judge.first_accepted("How do I sign a PDF?", [], 0.5) is None


def test_missing_model_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(JudgeUnavailable, match=r"judge\.onnx"):
        CrossEncoder(tmp_path).score([("a", "b")])
