"""Names by default: NER only where a name could be, only the NER component, a clear mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helix.pii.analyzer import PiiEngine
from helix.pii.casing import cased, load_lexicon, restorable
from helix.pii.config import NER_OFF, NER_PACKAGES, PiiConfig, find_model
from helix.pii.language import foreign, in_foreign_line
from helix.pii.names import load_ner, name_windows
from helix.pii.redact import Redactor, redact_body
from tests.conftest import SPACY_MODEL, require_model, start_helix
from tests.fake_upstream import FakeState, ServerThread
from tests.test_pii_proxy import file_bytes, strings


def test_windows_open_only_around_name_candidates() -> None:
    text = "The JSON export from Python failed on Tuesday. " * 3 + "Ask Maria Gonzalez about it."
    windows = name_windows(text)
    assert len(windows) == 1
    start, end = windows[0]
    assert "Maria Gonzalez" in text[start:end] and start > len(text) // 2
    assert name_windows("all lower case, no names here; OperationalError at Xq7") == []


def test_model_choice() -> None:
    assert find_model(NER_OFF) is None
    assert find_model("/some/folder") == "/some/folder"
    # Unset: the first installed English package, if any (none in the test environment).
    assert find_model(None) in (None, *NER_PACKAGES)
    assert PiiEngine(PiiConfig(spacy_model=NER_OFF)).mode == "pattern-only"


@pytest.mark.usefixtures("spacy_model")
def test_only_the_ner_component_runs_and_first_names_are_kept() -> None:
    nlp = load_ner(str(SPACY_MODEL))
    assert nlp.pipe_names == ["ner"] and load_ner(str(SPACY_MODEL)) is nlp  # loaded once per process
    redactor = Redactor(PiiEngine(PiiConfig(spacy_model=str(SPACY_MODEL))))
    texts = [
        "Message from Tomasz Kowalczyk: the build is red",
        'def test():\n    author = "Maria Gonzalez"\n    return author',
        "Convert this JSON to YAML and deploy it with Terraform on Monday",
    ]
    assert redactor.redact(texts).texts == [
        "Message from <PERSON>: the build is red",
        'def test():\n    author = "<PERSON>"\n    return author',
        "Convert this JSON to YAML and deploy it with Terraform on Monday",
    ]


NAMES_DATA = Path(__file__).parent / "data" / "pii_names.jsonl"
NAME_ROWS = [json.loads(line) for line in NAMES_DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
# Caught / clean bars per split. "dev" and "heldout" were looked at while the cased view was built;
# "fresh" was written afterwards and run once (then once more after a bug fix: cue words ended no run).
MIN_CAUGHT = {"dev": 1.0, "heldout": 1.0, "fresh": 0.75}


@pytest.fixture(scope="module")
def ner_redactor() -> Redactor:
    require_model(SPACY_MODEL)
    return Redactor(PiiEngine(PiiConfig(spacy_model=str(SPACY_MODEL)), cache_size=0))


@pytest.mark.parametrize("split", sorted(MIN_CAUGHT))
def test_lower_case_names_and_names_in_code(ner_redactor: Redactor, split: str) -> None:
    rows = [r for r in NAME_ROWS if r["split"] == split]
    named = [r for r in rows if r["names"]]
    clean = [r for r in rows if not r["names"]]
    assert len(named) >= 8 and len(clean) >= 20
    outs = ner_redactor.redact([r["text"] for r in rows]).texts
    leaked = [n for r, out in zip(rows, outs, strict=True) for n in r["names"] if n in out]
    altered = [out for r, out in zip(rows, outs, strict=True) if not r["names"] and out != r["text"]]
    total = sum(len(r["names"]) for r in named)
    print(f"\n{split}: {total - len(leaked)}/{total} names caught, {len(altered)}/{len(clean)} clean prompts altered")
    assert (total - len(leaked)) / total >= MIN_CAUGHT[split], leaked
    assert len(altered) * 20 <= len(clean), altered  # at most 1 clean prompt in 20


def test_cased_view_keeps_offsets_and_leaves_prose_alone() -> None:
    lexicon = load_lexicon(str(require_model(SPACY_MODEL)))
    assert lexicon is not None
    text = "please bill the customer and ask maria gonzalez; user_id = obj.name"
    restored = restorable(text, lexicon)
    view = cased(text, restored)
    assert len(view) == len(text)
    assert "Maria Gonzalez" in view and "bill the" in view and "user_id = obj.name" in view
    assert restorable("please bill the customer for the extra hours", lexicon) == []


@pytest.mark.usefixtures("spacy_model")
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_lower_case_names_and_names_in_code_never_reach_the_provider_or_the_file(
    tmp_path: Path, upstream: tuple[ServerThread, FakeState], fake: FakeState, stream: bool
) -> None:
    helix = start_helix(tmp_path, upstream[0].url, f'[pii]\nspacy_model = "{SPACY_MODEL}"\n')
    rows = [r for r in NAME_ROWS if r["names"] and r["split"] != "fresh"]  # the splits held at 100%
    try:
        for row in rows:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": row["text"]}], "stream": stream}
            response = httpx.post(f"{helix.url}/v1/chat/completions", json=body, timeout=30)
            assert response.status_code == 200
        seen = "\n".join(s for r in fake.requests for s in strings(r.body))
        data = file_bytes(helix)
        leaked = [n for r in rows for n in r["names"] if n in seen or n.encode() in data]
        assert len(fake.requests) == len(rows) and not leaked, leaked
    finally:
        helix.server.stop()


TWO_WORD_NAMES = [
    ("tell rose baker her order shipped", "rose baker"),
    ("please thank grace hill for the slides", "grace hill"),
    ("send the invoice to mark hunter today", "mark hunter"),
    ("can rose baker review the pr", "rose baker"),
    ("daniel smith asked about his refund", "daniel smith"),
]
# Written with the rule, to probe it: materials, places, a statistic, imperatives, a physics effect.
TWO_WORD_PROSE = [
    "mark hall as booked for friday",
    "bill turner for the repairs",
    "is rose wood good for a guitar neck",
    "grace hill trail is closed after the storm",
    "mark fisher scores as outliers",
    "jack hall effect sensor wiring",
    "the rose hill estate is closed",
    "ok. mark turner as the owner",
]


def _names_kept(redactor: Redactor, cases: list[tuple[str, str]]) -> list[str]:
    """The names of `cases` (text, a name in it) still in their text after redaction."""
    outs = redactor.redact([text for text, _ in cases]).texts
    return [name for (_, name), out in zip(cases, outs, strict=True) if name in out]


def test_two_dictionary_words_that_are_a_given_name_and_a_surname(ner_redactor: Redactor) -> None:
    assert _names_kept(ner_redactor, TWO_WORD_NAMES) == []
    assert ner_redactor.redact(TWO_WORD_PROSE).texts == TWO_WORD_PROSE


_CUE_PIECES = [
    *("my name is", "Name's", "thank you", "THANKS", "dear", "ask", "flask", "cc", "mrs", "regards", "signed"),
    *(" ", "\t", "\n", ":", ",", "'", '"', "=", "author", "name", "x", "maria", "\u017f", "\u212a", "İ", "é", "."),
]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_CUE_PIECES), max_size=16).map("".join), st.integers(0, 60))
def test_cue_prefilters_agree_with_the_cue_patterns(text: str, first: int) -> None:
    # The cue patterns run only where a cheap test says they can match: they must answer the same.
    from helix.pii.casing import _CUE, _CUE_REACH, _KEY_CUE, _cued, _key_cued

    first = min(first, len(text))
    start = max(0, first - _CUE_REACH)
    assert _cued(text, first) == bool(_CUE.search(text, start, first))
    assert _key_cued(text, first) == bool(_KEY_CUE.search(text, start, first))


LABELLED_NAMES = [
    # a label's value on the line before another label, which the model tags as one name with the next line's label
    ("Customer: Rohan Mehta\nAddress: Flat 302, Sai Krupa Apartments, 14th Cross, Indiranagar", "Rohan"),
    ("Summarise:\n> From: Ingrid Bergström\n> Subject: Q4 forecast", "Ingrid Bergström"),
    ("account holder: Lena Hoffmann\nplease check the transfer", "Lena Hoffmann"),
    ('patient_name,dob,ward\n"Okonkwo, Chidi",1979-11-02,B4\n"Lindqvist, Astrid",1990-06-17,C1', "Okonkwo, Chidi"),
    ('patient_name,dob,ward\n"Okonkwo, Chidi",1979-11-02,B4\n"Lindqvist, Astrid",1990-06-17,C1', "Lindqvist, Astrid"),
    ("contacts.csv:\nname,phone\nAhmed Al-Farsi,+971 50 123 4567\nSofia Moreno,+34 612 34 56 78", "Sofia Moreno"),
    ("id;name;email\n1021;Élodie Marchand;elodie@orange.fr\nDedupe these rows", "Élodie Marchand"),
    ('{"user":{"firstName":"Ewa","lastName":"Nowakowska","phone":"+48 601 234 567"}}', "Nowakowska"),
    ("Dear Siobhán,\n\nThanks for the quick turnaround.", "Siobhán"),  # the model: ORG "Dear Siobhán"
    # Capitals, a surname first, dictionary words that are a given name and a surname, more labels:
    ("Account holder: JOHN SMITH\nwhy was the card declined?", "JOHN SMITH"),
    ("Passenger: TAYLOR, GRACE M.\nSeat 14C, can I change it?", "TAYLOR, GRACE M."),
    ("Patient: Garcia, Maria\nReason for visit: follow-up", "Garcia, Maria"),
    ("Beneficiary: Rose Baker\nAmount: 250 EUR", "Rose Baker"),
    # round 9 (set I's shapes, other values): a quoted CSV header, first and last name columns without "name", a
    # label with a qualifier (full legal name, emergency contact, ship to), a claimant, requester or employee
    ('"Name","Email","Phone"\n"Chiamaka Eze","c.eze@mail.ng","+234 803 000 0000"', "Chiamaka Eze"),
    ("id,first,last,dept\n7,Gunnar,Oskarsson,IT\n8,Brid,Fennelly,HR", "Oskarsson"),
    ("Full legal name: Anneliese Brückner\nStart date: 2027-01-04", "Anneliese Brückner"),
    ("Emergency contact: Tomasz Wieczorek (brother)", "Tomasz Wieczorek"),
    ("Ship to: Kenji Watanabe\n1-2-3 Shibuya, Tokyo", "Kenji Watanabe"),
    ("Claimant: Fenella Marsh-Dubois\nPolicy: HLT-1", "Fenella Marsh-Dubois"),
    ("- id: 88\n  requester: Bogdan Ionescu\n  status: open", "Bogdan Ionescu"),
    ("Mitarbeiterin: Swetlana Kusnezowa\nAbteilung: IT", "Swetlana Kusnezowa"),
    ("Patient: Dragoslav Vukić, geb. 1961, Station 4", "Dragoslav Vukić"),
    ("POST /signup body: first_name=Radomir&last_name=Kovalenko&email=r%40x.ua", "Kovalenko"),
    # a key or label that holds a part of a person's name and nothing else takes a dictionary word too (set I's
    # `last_name=Albuquerque`), where a plain "name" does not ("Orders" below)
    ("POST /signup body: first_name=Rose&last_name=Hill&email=r%40x.io", "Hill"),
    ('{"givenName": "Hope", "familyName": "Baker", "plan": "pro"}', "Baker"),
    ('{"givenName": "Hope", "familyName": "Baker", "plan": "pro"}', "Hope"),
    ("Surname: Fisher\nDate of birth: on file", "Fisher"),
    ("Given name: Hope\nNationality: Irish", "Hope"),
    ("Nachname: Koch\nAbteilung: Vertrieb", "Koch"),
    ("Maiden name: Cartwright\nSecurity question: first pet", "Cartwright"),
    # and so does a table's column headed so (a bare "first" or "last" column does not: "Monday,Friday" below)
    ("last_name,first_name,email\nHill,Rose,rose@x.io\nBaker,Hope,hope@x.io", "Baker"),
    ("surname;city\nFisher;Leeds", "Fisher"),
    # set O: particles inside a labelled name, the insured and a driver in other languages, a name key in Dutch, a
    # multi-row INSERT's surname column in Portuguese
    ("Driver: Pieter van der Berg\nPlate: 12-ABC-3", "Pieter van der Berg"),
    ("Assurée : Mathilde de Oliveira — dossier 2291", "Mathilde de Oliveira"),
    ('{"klant_id": 7, "naam": "Joost Verhoeven", "plaats": "Utrecht"}', "Joost Verhoeven"),
    ('{"vorname": "Wiebke", "nachname": "Tammenhoff", "ort": "Kiel"}', "Tammenhoff"),
    (
        "INSERT INTO clientes (nome, sobrenome) VALUES\n('Ana', 'Quaresma'),\n('Rui', 'Sequeira');",
        "Sequeira",
    ),
    # set P: a label inside a line (cut at a comma when the next field's label follows), bare first and last columns
    # and keys in code, keys that name a person's role, a form value joined by "+", bar-separated fields, a common name
    ("Payslip: AHV-Nr. 756.9217.0033.41, Name: Urs Zwahlen, IBAN CH56 0483 5012 3456 7800 9", "Urs Zwahlen"),
    ("Formulário fiscal: Nome: Leonor Vasconcelos; NIF: 245319877", "Leonor Vasconcelos"),
    ("P60 check: Employee: Fergus Lindqvist, tax code 1257L", "Fergus Lindqvist"),
    ("Wire it to Account name: Obiageli Nwachukwu, Acct: 55501234", "Obiageli Nwachukwu"),
    ("INSERT INTO members (first, last, plan) VALUES ('Soren', 'Haugland', 'pro');", "Haugland"),
    ("seed = [{first: 'Tavita', last: 'Aumua', zip: '96799'}]", "Aumua"),
    ('{"owner":"Kavya Raghunathan","plan":"team"}', "Kavya Raghunathan"),
    ('[INFO] charge retried cardholder="Sipho Ndlovu" amount=12.00', "Sipho Ndlovu"),
    ("GET /cart?name=Stavros+Papadakis&step=2", "Stavros+Papadakis"),
    ("row: Id=88|FirstName=Astrid|LastName=Haugen|Tier=Gold", "Haugen"),
    ("ATTENDEE;CN=Ragnhild Oksnes:mailto:r@x.no", "Ragnhild Oksnes"),
]
NER_TYPES = ("PERSON", "LOCATION")
LABELLED_NOT_NAMES = [
    "From: Support\nTo: Billing\nSubject: Invoice 4421",
    "name,version\nRequests,2.31.0\nNumPy,1.26.4\n\nWhich is older?",
    "hostname,ip\nWeb,10.0.0.1",
    "Company name: Support Team\nFile name: Report Final\nfirst,last\nMonday,Friday",
    '{"name": "Orders", "product_name": "Widget Pro", "filename": "Report Final.pdf"}',
    "Write a Hello World program in Rust, then translate 'Hello World' into French.",
    "From: Support Team <support@example.com> is the sender we use",
    "Convert 72 degrees Fahrenheit to Celsius and 5 miles to km.",
    "AKS node pool Standard_D4s_v5, 4 vCPU, 16 GiB, 3 nodes.",
    'From: "Support Team" <support@example.com>\nTo: "Billing" <billing@example.com>',
    "Guest: WIFI ACCESS\nPayee: Electricity Company\nHolder: Main Account",
    # set P's look-alikes: steps labelled first and last, a label's dictionary word inside a line, role keys of one
    # word, a directory's container, day names under bare first and last columns
    "First: Open the settings page. Last: Close the dialog.",
    "the file name: Report, then set the owner: Finance and the reporter: Bot",
    '{"owner": "Platform", "assignee": "Unassigned", "organizer": "Events Team"}',
    "CN=Users,DC=corp,DC=example",
    "INSERT INTO schedule (first, last) VALUES ('Monday', 'Friday');",
]


def test_labelled_names_in_headers_forms_and_table_columns(ner_redactor: Redactor) -> None:
    assert _names_kept(ner_redactor, LABELLED_NAMES) == []
    assert [f for text in LABELLED_NOT_NAMES for f in ner_redactor.redact([text]).findings if f in NER_TYPES] == []


# Names the model misses, found by what surrounds them (names.introduced_names), and spans it tags that are no names
# (names._misread). Values other than the probe sets' (bench/probes).
CONTEXT_NAMES = [
    ("Traduce: Hola, soy Ignacio Zubizarreta y quiero cancelar el pedido.", "Ignacio Zubizarreta"),
    ("Traduci: Buonasera, mi chiamo Chiara Lombardini e scrivo per il rimborso.", "Chiara Lombardini"),
    ("cover letter please, my name is anirudh venkatesan, 4 years of QA experience", "anirudh venkatesan"),
    ("ssh -p 2222 radoslav.petrov@jump-01 hangs after the banner", "radoslav.petrov"),
    ("audit.log: 2024-06-02 user=ngozi.okonkwo action=export rows=1200", "ngozi.okonkwo"),
    ('<tr><td class="name">Torsten Ekberg</td><td>Finance</td></tr> - why is the row misaligned?', "Torsten Ekberg"),
    ("INSERT INTO staff (name, team) VALUES ('Benedetta Carbone', 'Ops'), ('Emeka Nwosu', 'QA');", "Emeka Nwosu"),
    ("Prepare notes for my call with KATARZYNA WIŚNIEWSKA about the renewal.", "KATARZYNA WIŚNIEWSKA"),
    # round 5 (set C's shapes, other values): a one-word name under an INSERT's name column, a form's surname in
    # capitals, an intro in capitals, sign-offs in other languages (on the next line too), a relation before a name
    ("INSERT INTO guests (surname, first_name, room) VALUES ('Adeyemi', 'Folake', 12);", "Adeyemi"),
    ("INSERT INTO guests (surname, first_name, room) VALUES ('Adeyemi', 'Folake', 12);", "Folake"),
    ("INSERT INTO staff (last_name, first_name, team) VALUES ('Hill', 'Rose', 'Ops');", "Rose"),
    ("INSERT INTO people (family_name, given_name) VALUES ('Fisher', 'Hope');", "Fisher"),
    ("Remplis ce formulaire:\nNom : BERTRAND\nPrénom : Ophélie\nVille : Nantes", "BERTRAND"),
    ("Formularz: Nazwisko: Wróblewska, data: dziś", "Wróblewska"),
    ("PLEASE FIX: MY NAME IS GRAHAM PEMBERTON AND I LOST MY CARD", "GRAHAM PEMBERTON"),
    ("Vertaal: Hoi, de factuur klopt niet. Met vriendelijke groet, Joost Vermeulen", "Joost Vermeulen"),
    ("Przetłumacz: Dziękuję za pomoc.\nPozdrawiam,\nJarosław Mazurkiewicz", "Jarosław Mazurkiewicz"),
    ("My landlord Siobhán wants the deposit in cash, is that legal?", "Siobhán"),
    # round 6 (set E's shapes, other values): a mail header's quoted display name, a signature after "--" with a
    # title, a colleague named with words between
    ('Headers:\nFrom: "Okoye, Nnamdi" <n.okoye@mail.partners.com.ng>\nTo: ops@acme.example', "Okoye, Nnamdi"),
    ("Shorten my signature:\n\n--\nDr. Daan Smit\nSenior Engineer, Helios Analytics GmbH", "Daan Smit"),
    ("My Tokyo colleague Anjali Raman can't log in. Write a ticket to IT.", "Anjali Raman"),
    # a closing's first name, someone presenting themselves, a name before a verb of saying
    ("The export keeps failing on large files, any idea?\n\nThanks, Priya", "Priya"),
    ("Please escalate this.\n\nBest,\nKatarzyna Lewandowska", "Katarzyna Lewandowska"),
    ("hey it's Hiroshi, the app keeps crashing on login", "Hiroshi"),
    ("Hi, this is Oluwaseun from accounting: the invoice total is wrong.", "Oluwaseun"),
    ("Aaliyah said I should email you about the refund.", "Aaliyah"),
    # "nome", "nombre" and "nom" hold no "name": the introductions were never looked for
    ("ciao, il mio nome è giulia bianchi, il pacco non è arrivato", "giulia bianchi"),
    ("Olá, meu nome é João Pereira e quero cancelar", "João Pereira"),
    # round 9: sign-offs "Un saludo," and "Mit freundlichen Grüßen" on the line before the name
    ("Revisa el correo:\nGracias por todo.\nUn saludo,\nMaite Urrutia", "Maite Urrutia"),
    ("Bitte kürzen:\nDanke für die Hilfe.\nMit freundlichen Grüßen\nWiebke Tammen", "Wiebke Tammen"),
    ("hola, soy florencia, mi móvil es 611 223 344", "florencia"),  # "soy": a function word, and an introduction
    # set O: a name with a particle in prose, where the model tags nothing
    ("Payroll onboarding for Marieke de Vries: start date 2024-04-01", "Marieke de Vries"),
    ("Accident report: driver Wei van den Broek, rear bumper damaged", "Wei van den Broek"),
    # set P: forms of address in Dutch, French and Spanish, a patient or a participant named in a record
    ("Vertaal: Geachte mevrouw Oosterhuis, uw pakket is onderweg.", "Oosterhuis"),
    ("Compte rendu : M. Gaspard Lemaire a validé le devis.", "Gaspard Lemaire"),
    ("Traduce: la cita con Doña Remedios Alcaraz es el lunes", "Remedios Alcaraz"),
    ("Riassumi: paziente Ottavio Brambilla, ricoverato il 3 marzo", "Ottavio Brambilla"),
    ("Protokoll: Teilnehmerin Hannelore Wiesinger, Raum 4", "Hannelore Wiesinger"),
]
CONTEXT_NOT_NAMES = [
    "Wir treffen uns am Hauptbahnhof um 9 Uhr.",
    "docker run -e TZ=Europe/Berlin -e LANG=de_DE.UTF-8 app:2.1",
    "git log --author='Linus' --oneline | head",
    "INSERT INTO products (title) VALUES ('Standard Plan'), ('Premium Support');",
    "<h2>Getting Started</h2><p>Install the CLI first.</p>",
    "Hola, soy nuevo aquí y tengo una pregunta sobre Python.",
    "The README says TODO FIXME NOTE in capitals; see the AWS IAM docs.",
    "ssh deploy@build-box and user=svc_backup run the nightly job",
    "INSERT INTO plans (name, tier) VALUES ('Starter', 'free');",
    "Status: OK\nName: API\nName: TBD\nName: TODO\nCustomer: NASA",
    "Kind regards, and thanks for the quick fix!",
    "MY NAME IS NOT IMPORTANT, JUST FIX THE BUG",
    "Thanks to my manager for the review; my partner company uses Jira.",
    "Fixed.\n--\nSent from my iPhone\n--\nRelease Notes",
    "My colleagues Monday and Tuesday are off; the colleague Portal is down.",
    "Thanks, Team\nBest, The Acme Team\nThanks in advance,\nDevOps",
    "Support said I should restart the router. Kubernetes says the pod is pending.",
    "this is Python 3.12 code; the best Italian place; it's Monday and the build is red",
    # round 9: lower-case words of another language with a function word among them, read as a name once cased
    # set O's look-alikes: places joined by a particle, after a word that puts a place there or tagged a place
    "What is the weather in Rio de Janeiro in March? We land at Gare du Nord.",
    "¿Cuál es el mejor barrio para vivir en Ciudad de México?",
    "Summarise the history of the Brandenburg Gate and Unter den Linden for a travel blog.",
    "La version 2.4 de Django est sortie hier ; quelles nouveautés pour les formulaires ?",
    "¿Por qué mi paquete sigue 'en tránsito' desde hace 12 días?",
    "Le code 3017620422003 et la référence produit figurent sur l'étiquette ; que signifie le code EAN ?",
    # set P's look-alikes: a time before a weekday, a patient portal, a participant count
    "the meeting is at 5 p.m. Monday in the patient Portal; each participant Count is logged",
]


def test_names_found_by_context_and_words_that_are_no_names(ner_redactor: Redactor) -> None:
    assert _names_kept(ner_redactor, CONTEXT_NAMES) == []
    altered = [text for text in CONTEXT_NOT_NAMES if ner_redactor.redact([text]).texts[0] != text]
    assert altered == []


# Someone's closest people named in lower case right after "my wife", "my son"... (round 5): the model misses them
# uncapitalised; a verb or any other dictionary word after the relation is no name.
RELATIVES = [
    ("my wife sarah and my son tom are both on the family plan", "sarah"),
    ("my wife sarah and my son tom are both on the family plan", "tom"),
    ("my sister priya uses the app too", "priya"),
    ("my brother kevin set it up for me", "kevin"),
]
RELATIVES_NOT_NAMES = [
    "my dad said it was fine",
    "my son bought a game by mistake",
    "my father passed away and I need to close his account",
    "my mum rang support yesterday",
    "my wife wants to cancel",
    "my daughter loves the new update",
]


def test_relatives_named_after_my(ner_redactor: Redactor) -> None:
    assert _names_kept(ner_redactor, RELATIVES) == []
    assert [text for text in RELATIVES_NOT_NAMES if ner_redactor.redact([text]).texts[0] != text] == []


# A name as airlines and hotels print it: SURNAME/GIVEN and a title (round 5); capitals around a slash without a
# title, or before another word in capitals, are no name.
TICKET_NAMES = [
    ("Boarding pass: DOE/JANE MS  seat 14C  LH 401", "DOE/JANE"),
    ("PNR X7K2LQ passenger NGUYEN/THANH MR, flight VN 54", "NGUYEN/THANH"),
    ("Passenger name: OKONKWO/CHIDI MR", "OKONKWO/CHIDI"),
    ("e-ticket 2201234567890 SMITH/JOHN MR", "SMITH/JOHN"),
]
TICKET_NOT_NAMES = [
    "grant READ/WRITE MS SQL access to the team",
    "UPPERCASE/LOWERCASE MODE toggles the keyboard; INPUT/OUTPUT MR tables are merged",
    "the CPU/GPU split is 60/40",
]


def test_ticket_names(ner_redactor: Redactor) -> None:
    assert _names_kept(ner_redactor, TICKET_NAMES) == []
    assert [text for text in TICKET_NOT_NAMES if ner_redactor.redact([text]).texts[0] != text] == []


def test_a_name_found_once_is_redacted_at_every_mention(ner_redactor: Redactor) -> None:
    """The model tags a chat's speaker at two of three lines: the third is the same person (set P's Teams chat)."""
    chat = (
        "Deborah Osei 10:02 AM\nCan you send me the vendor portal login?\nChloe Osei 10:04 AM\nuser: finance-ops\n"
        "Chloe Osei 10:05 AM\nIf it fails call me"
    )
    assert "Osei" not in ner_redactor.redact([chat]).texts[0]


def test_an_address_blocks_addressee_and_a_street_the_model_tagged_inside(ner_redactor: Redactor) -> None:
    """The line above a street address names its addressee (set Q's letter heads and shipping labels); a street
    outranks a name the model tags inside it, whose rest (the house number, the ZIP after "Brooklyn") went through."""
    cases = {
        "Bitte höflicher:\n\nMatthias Ebersberger\nHauptstraße 12\n80331 München": (
            "Bitte höflicher:\n\n<PERSON>\n<LOCATION>\n<LOCATION> München"
        ),
        "SHIP TO:\nDANIEL MCALLISTER\n6684 BIRCHWOOD LANE\nTACOMA, WA 98403": (
            "SHIP TO:\n<PERSON>\n<LOCATION>\n<LOCATION>"
        ),
        "Head Office\n221B Baker Street\nLondon NW1 6XE": "Head Office\n<LOCATION>\nLondon <LOCATION>",
        "Ship to:\nRebecca Stanhope\n1509 W Belmont Ave\nBrooklyn, NY 11215": (
            "Ship to:\n<PERSON>\n<LOCATION>\n<LOCATION>"
        ),
        "Customer Service\n12 Main Street\nSpringfield": "Customer Service\n<LOCATION>\n<LOCATION>",
    }
    assert {text: ner_redactor.redact([text]).texts[0] for text in cases} == cases


# Names the small model misses after a title, a relation, a mention's "@" or the words that say who did or owns
# something (round 5); capitalised words there that are dictionary words, tech words or dates are no names.
CUED_NAMES = [
    ("Translate to French: 'Dear Mr. Fitzgerald, your order has shipped.'", "Fitzgerald"),
    ("Please write a birthday message for my grandma Rosalind", "Rosalind"),
    ("@mention: @priya.sharma can you review?", "priya.sharma"),
    ("Escalated by Thandiwe Mokoena (tier 2)", "Thandiwe Mokoena"),
    ("Hi team, customer Aoife Ní Bhriain reported the bug yesterday.", "Aoife Ní Bhriain"),
    # round 7 (probe set G): intros in more languages, "I'm", more sign-offs, CJK form labels and honorifics
    ("Přelož do angličtiny: Jmenuji se Tereza Nováková, bydlím v Brně.", "Tereza Nováková"),
    ("Hi! I'm Lars, from Oslo, and I need help with a cover letter.", "Lars"),
    ("Merhaba, adım Elif Yıldız. Telefonum yok.", "Elif Yıldız"),  # noqa: RUF001
    ("« Madame, j'ai déménagé. Cordialement, Hélène Marchand »", "Hélène Marchand"),
    ("帮我检查这个表格：姓名 王伟，手机 13928764410", "王伟"),  # noqa: RUF001
    ("고객 정보: 이름 김민준, 연락처 010-4821-7736", "김민준"),
    ("宛名:\n山田 太郎 様\n電話 090-4821-7736", "山田 太郎"),
    # round 8 (probe set H): a Chinese speaker's own name after 本人/我叫 (a surname first), the undersigned's, and a
    # Dutch speaker's after "ik ben"
    ("幫我翻譯：本人李嘉欣，電話 9123 4567。", "李嘉欣"),  # noqa: RUF001
    ("请帮我写自我介绍：我叫张伟，今年三十岁。", "张伟"),  # noqa: RUF001
    ("Tradu: Subsemnata Ioana Dumitrescu, domiciliată în Cluj", "Ioana Dumitrescu"),
    ("Vertaal: Hallo, ik ben Sanne Bakker en ik woon in Leiden.", "Sanne Bakker"),
]
CUED_NOT_NAMES = [
    "本人承诺，所填信息真实；本人签字：",  # noqa: RUF001
    "The undersigned agrees to the terms. Je soussigné, certifie sur l'honneur.",
    "ik ben benieuwd naar de Release van morgen",
    "I'm done, from now on the deploys go through CI. I am Going to merge it.",
    "名前を付けて保存してください; 皆様、よろしく",
    "Sorted by Date Created; powered by Kubernetes",
    "the customer Portal and the Customer Success team; by Friday please",
    "@app.route and @pytest.fixture decorators; my mom said nothing",
    "watch the Dr. Strange movie",
]


def test_cued_names(ner_redactor: Redactor) -> None:
    assert _names_kept(ner_redactor, CUED_NAMES) == []
    assert [text for text in CUED_NOT_NAMES if ner_redactor.redact([text]).texts[0] != text] == []


def test_a_name_in_an_identifier_is_read_word_by_word(ner_redactor: Redactor) -> None:
    """A message's `name` is [A-Za-z0-9_-]: `Margaret_Oyelaran` reached the provider, `Margaret Oyelaran` not."""
    for name in ("Margaret_Oyelaran", "Rohan_Mehta"):
        body = {"model": "m", "messages": [{"role": "user", "name": name, "content": "hello there"}]}
        redact_body(body, ner_redactor)
        assert body["messages"][0]["name"] == "PERSON", body
    body = {"model": "m", "messages": [{"role": "tool", "name": "get_weather", "content": "sunny"}]}
    redact_body(body, ner_redactor)
    assert body["messages"][0]["name"] == "get_weather"


def test_a_country_is_no_one_s_address_but_a_city_with_a_name_is_redacted(ner_redactor: Redactor) -> None:
    # Redacted, a country left the provider answering "Do you ship to <LOCATION>?", and one question about Canada and
    # one about Australia were the same cached question.
    countries = [
        "Do you ship to Canada?",
        "Do you ship to the United States or the UK?",
        "Do I need a visa for Japan with an EU passport?",
        "Is it cheaper to fly from Germany to Portugal in June?",
    ]
    assert ner_redactor.redact(countries).texts == countries
    (kept,) = ner_redactor.redact(["Our Berlin office number is +49 30 901820, ask Anna Schmidt"]).texts
    assert "Berlin" not in kept and "Anna Schmidt" not in kept


def test_a_plan_or_product_named_by_an_adjective_is_no_name(ner_redactor: Redactor) -> None:
    # "Standard" was redacted as a PERSON and "Premium" as a LOCATION: a provider read "switch to the <PERSON> plan",
    # and the questions about two plans were one cached question (a helper's support set).
    plans = ["How do I switch from the Basic plan to the Standard plan?", "How do I upgrade to Premium?"]
    assert ner_redactor.redact(plans).texts == plans
    (kept,) = ner_redactor.redact(["Mr. Brown and Grace Hopper called about the invoice"]).texts
    assert "Brown" not in kept and "Grace Hopper" not in kept


OTHER_LANGUAGES_NO_NAMES = [
    "¿Cuántos días son?",
    "Quantas calorias tem uma porção de 150 g de arroz integral cozido?",
    "Hoeveel water moet ik per dag drinken als ik 3 keer per week 45 minuten sport?",
    "El plazo de matrícula es del 01/09/2024 al 15/09/2024. ¿Cuántos días son?",
    "Combien de temps faut-il laisser reposer une pâte à crêpes ? J'ai mis 250 g de farine et 4 œufs.",
]


def test_a_line_in_another_language_is_not_read_as_names_but_an_introduction_there_is(
    ner_redactor: Redactor,
) -> None:
    """Every word of Spanish or Portuguese is unknown to the English dictionary: the cased view capitalised them all,
    and the model read "¿Cuántos Días Son?" as a name (49 of the probe sets' 597 over-redactions with spaCy; set AA).
    A name after another language's introduction ("il nome", "me llamo") is still capitalised for the model."""
    assert [text for text in OTHER_LANGUAGES_NO_NAMES if ner_redactor.redact([text]).texts[0] != text] == []
    red = ner_redactor.redact(["il mio codice cliente è 4471 e il nome francesca de luca, puoi controllare?"])
    assert "francesca" not in red.texts[0] and "luca" not in red.texts[0]


def test_which_lines_are_in_another_language() -> None:
    """Words of another language that English writes too ("ok", "later", "van") say nothing (a review's finds: "ok,
    loop in jan van der berg later" was read as another language, and the name left to the model uncapitalised)."""
    lexicon = load_lexicon(str(SPACY_MODEL))
    assert lexicon is not None
    english = lexicon.known
    assert foreign("¿Cuántos días son?", english) and foreign("Hoeveel kost een treinkaartje naar Utrecht?", english)
    assert foreign("Сколько воды нужно, если у меня 200 г крупы", english)  # noqa: RUF001
    for line in (
        "Write a short travel itinerary: three days in Lisbon, a day trip to Sintra",
        "ok, loop in jan van der berg later",
        "lunch w/ ana de souza later",
        "nice, sale total for kim lee ok",
        "ok sounds good, sync w/ priya raman later",
    ):
        assert not foreign(line, english), line
    text = "Please summarise this:\nHoeveel kost een treinkaartje van Amsterdam naar Utrecht?"
    assert not in_foreign_line(text, 3, english) and in_foreign_line(text, len(text) - 5, english)


def test_other_languages_stop_words_are_read_without_their_packages(tmp_path: Path) -> None:
    """spaCy's French package compiles its tokenizer's exceptions when imported (~2.5 s of every `helix serve` start and
    CLI command): a PII engine reads only the stop words, and they are spaCy's."""
    script = (
        "import sys; from helix.pii.analyzer import PiiEngine; from helix.pii.config import PiiConfig; "
        "from helix.pii.language import stop_words; PiiEngine(PiiConfig()); words = stop_words('fr'); "
        "assert not [m for m in sys.modules if m.startswith('spacy.lang.fr')], 'imported'; "
        "import spacy.lang.fr; assert words == spacy.lang.fr.French.Defaults.stop_words and len(words) > 400; "
        "print('ok')"
    )
    env = {**os.environ, "HELIX_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


def test_stop_words_read_while_another_thread_imports_the_language() -> None:
    """A reviewer's race: the bare package stood in for the real one that another thread was importing (KeyError, or
    the real package left out of sys.modules)."""
    script = (
        "import importlib, sys, threading\n"
        "sys.setswitchinterval(1e-6)\n"
        "from helix.pii.language import stop_words\n"
        "import spacy.lang.fr\n"
        "errors = []\n"
        "def read():\n"
        "    try:\n"
        "        for _ in range(1000):\n"
        "            stop_words('fr')\n"
        "    except Exception as exc: errors.append(repr(exc))\n"
        "def load():\n"
        "    try:\n"
        "        for _ in range(1000):\n"
        "            sys.modules.pop('spacy.lang.fr', None); sys.modules.pop('spacy.lang.fr.stop_words', None)\n"
        "            if not hasattr(importlib.import_module('spacy.lang.fr'), 'French'): errors.append('bare')\n"
        "    except Exception as exc: errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=read), threading.Thread(target=load)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "assert not errors, errors[:3]\n"
        "assert stop_words('fr') == sys.modules['spacy.lang.fr'].French.Defaults.stop_words\n"
        "print('ok')"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
