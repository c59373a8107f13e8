"""The reader: a short answer voted across the retrieved passages, then its evidence.

For a question that asks for something (a name, a place, a date, an amount...), every candidate
of the asked kind in the best-supported sentences gets a vote weighted by that sentence's
support; variants of one answer ("Luke Humphries", "Humphries") pool their votes, and the same
answer in several articles counts for more than in one. A candidate the question already names is
not an answer. Questions that ask why or how, or for a phrase, are answered with their
best-supported sentences.

The pick's confidence is the probability that it is right, from the calibrated model of
`calibration`; unless it reaches `min_confidence` the answer is the refusal: decided here, in
code.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from qa.answer import calibration
from qa.answer.asked import Asked, asked
from qa.answer.candidates import (
    MONTHS,
    Candidate,
    common_nouns,
    counts,
    fits_place,
    is_title,
    name_candidates,
    names_inside,
    names_other_body,
    numeric_candidates,
    people_in,
)
from qa.answer.disagree import QUANTITY_KINDS, differ, quantity, relation
from qa.answer.evidence import Evidence, question_weights, score_sentences, sentence_similarity
from qa.answer.lexicon import accepts, currency_signs, gazetteer, words
from qa.answer.text import (
    REFUSAL_TEXT,
    WORD,
    Sentence,
    Vocabulary,
    _stopwords,
    harvest_acronyms,
    head_terms,
    sentence_spans,
    terms,
)
from qa.retrieve import english_stemmer, split_question
from qa.settings import Settings
from qa.types import Answer, Citation, Disagreement, ScoredChunk, SourcedValue

log = logging.getLogger(__name__)

MONTH = re.compile(rf"\b(?:{MONTHS})\b")
OPENERS = " “\"‘'(–—-"
"""What may stand before a sentence's first word."""
NUMERIC = frozenset({"amount", "percent", "count", "duration", "date", "year", "score"})
OPEN_KINDS = frozenset({"event", "work", "name"})
"""Kinds whose answer may be a plain noun ("measles"): with no named candidate, the best
sentence answers."""
CHOICES = re.compile(r"\b(?:of|from|among) the following\b|\ball of the above\b", re.IGNORECASE)
"""A question written for a list of choices ("Which of the following ...")."""
AMONG_CHOICES = re.compile(
    r"\b(?:not|except|statements?|true|false|correct|incorrect|all of the above)\b", re.IGNORECASE
)
"""What makes such a question unanswerable when it ends before listing its choices: it asks
which choice is or is not so ("Which of the following is NOT ...", "which statement is
correct"), which only the choices can say. "Which of the following was struck by an
earthquake?" asks for a place like any "which" question."""
ENUMERATION = re.compile(r"(?:[^,;]{2,40},\s+){2,}[^,;]{0,40}\band\b|\bsuch as\b|\bincluding\b")
"""A sentence that enumerates ("logistics, intelligence, communication and medical help")."""


@dataclass
class Vote:
    """One candidate answer and the evidence for it across sentences and articles."""

    key: str
    kind: str
    score: float = 0.0
    backing: list[tuple[float, Evidence, Candidate]] = field(default_factory=list)
    """(contribution, sentence, the variant in it), best first once tallied."""

    @property
    def articles(self) -> int:
        return len({e.sentence.chunk.chunk.source for _, e, _ in self.backing})


@dataclass(frozen=True)
class Pick:
    """What one part of a question is answered with: a sentence and, when typed, its span."""

    evidence: Evidence
    short: str | None
    confidence: float
    rivals: tuple[Rival, ...] = ()
    """Other well-supported figures of the asked kind in other articles (see `disagree`)."""
    named_in: Evidence | None = None
    """Another sentence for the answer that gives it in full ("Simone Biles") where the
    evidence gives only part of it ("Biles is the most decorated gymnast"): cited too."""


@dataclass(frozen=True)
class Rival:
    """A figure another article gives for the same question, and how it relates to the pick."""

    evidence: Evidence
    short: str
    relation: str


@dataclass
class Reading:
    """How the reader saw one question (part): the asked kind, the evidence, the votes."""

    asked: Asked
    evidence: list[Evidence]
    votes: list[Vote]
    pick: Pick | None
    features: dict[str, float] = field(default_factory=dict)
    """What the calibrated model weighed of the pick."""


class ExtractiveAnswerer:
    """Answers with a short span and the sentence that supports it, or refuses."""

    name = "extractive"

    def __init__(self, settings: Settings, vocabulary: Vocabulary) -> None:
        self.settings = settings
        self.vocabulary = vocabulary
        self.model: calibration.Model | None = None
        """The calibrated model; the shipped one unless set (as its fit sets a neutral one)."""

    def read(self, question: str, passages: list[ScoredChunk]) -> Reading:
        """Score the sentences, collect and vote candidates, and pick the answer (or None); its
        confidence is the calibrated probability that it is right."""
        wanted = asked(question)
        evidence = score_sentences(question, passages, self.vocabulary, self.settings)
        if (CHOICES.search(question) and AMONG_CHOICES.search(question)
                and question.rstrip().endswith("?")):
            return Reading(wanted, evidence, [], None)
        if wanted.kind == "expansion":
            expansion = self._expansion(wanted, evidence, passages)
            if expansion is not None or not wanted.defines:
                return Reading(wanted, evidence, [], expansion)
            wanted = Asked(None)  # "What is NATO?" with no long form here: a sentence on it
        votes: list[Vote] = []
        if wanted.kind == "list":  # an enumeration, the better if it names what is listed
            listed = set(terms(wanted.head or ""))
            evidence = sorted(
                evidence,
                key=lambda e: -e.support * (self.settings.context_boost ** (
                    bool(ENUMERATION.search(e.sentence.text))
                    + bool(listed & set(terms(e.sentence.text))))),
            )
        elif wanted.kind is not None:
            votes = self.vote(question, wanted, evidence)
        if not evidence or (wanted.kind not in (None, "list", *OPEN_KINDS) and not votes):
            return Reading(wanted, evidence, votes, None)
        sentence_answer = not votes  # a voted name or common noun beats the best sentence
        features = self.features(question, wanted, evidence, votes, sentence_answer)
        confidence = self.confidence(features)
        if sentence_answer:
            return Reading(wanted, evidence, votes, Pick(evidence[0], None, confidence), features)
        _, best, candidate = votes[0].backing[0]
        short = longest_variant_in(votes[0], best) or candidate.text
        fuller = _fuller_form(votes[0], short, best, evidence[: self.settings.reader_sentences]
                              ) or _named_in_full(votes[0], short)
        if fuller is not None:
            return Reading(wanted, evidence, votes,
                           Pick(best, fuller[1], confidence, named_in=fuller[0]), features)
        return Reading(wanted, evidence, votes, Pick(best, short, confidence), features)

    def confidence(self, features: dict[str, float]) -> float:
        """The calibrated model's probability, made more cautious in a large store: among tens
        of thousands of passages a near miss is likelier than the model's fit (half of it the
        seed file's five articles) allows. Its logit is lowered by `scale_correction` at
        `scale_chunks` chunks or more, by a share of it from `scale_from_chunks` up (log
        scale)."""
        if self.model is None:
            self.model = calibration.load(self.settings.calibration_file)
        p = self.model.probability(features)
        start = math.log10(self.settings.scale_from_chunks)
        decades = math.log10(1 + self.vocabulary.n) - start
        share = min(1.0, max(0.0, decades / (math.log10(self.settings.scale_chunks) - start)))
        logit = math.log(max(p, 1e-9) / max(1.0 - p, 1e-9)) - share * self.settings.scale_correction
        return 1.0 / (1.0 + math.exp(-logit))

    def features(self, question: str, wanted: Asked, evidence: list[Evidence], votes: list[Vote],
                 sentence_answer: bool) -> dict[str, float]:
        """What the calibrated model weighs of the answer: the best-voted candidate in its best
        sentence, or the best sentence itself (`calibration.FEATURES` says what each is)."""
        weights = question_weights(question, self.vocabulary)
        total = sum(weights.values()) or 1.0
        e = evidence[0] if sentence_answer else votes[0].backing[0][1]
        own = set(terms(e.sentence.text))
        features = {
            "corpus_size": math.log10(1 + self.vocabulary.n),
            f"asked_{calibration.asked_group(wanted.kind)}": 1.0,
            "support": e.support,
            "lexical": e.lexical,
            "semantic": e.semantic,
            "passage": e.passage,
            "coverage": sum(w for t, w in weights.items() if t in own) / total,
            "passage_rank": 1.0 / (1 + e.sentence.rank),
            "top_sentence": float(e is evidence[0]),
            "stands_out": e.support - evidence[min(len(evidence), 10) // 2].support,
        }
        if sentence_answer:
            return features | {"sentence_answer": 1.0}
        winner = votes[0]
        candidate = winner.backing[0][2]
        near, head = self._closeness(candidate, e.sentence.text, weights, wanted.head)
        stems = set(terms(candidate.text))
        named = set(terms(self.vocabulary.expand(question)))
        last = re.compile(rf"(?<!\w){re.escape(candidate.text.split()[-1])}(?!\w)")
        runner_up = votes[1].score if len(votes) > 1 else 0.0
        return features | {
            "log_votes": math.log(winner.score + 1e-3),
            "rival": math.log((runner_up + 1e-3) / (winner.score + 1e-3)),
            "kind_fit": accepts().get(wanted.kind or "", {}).get(winner.kind, 0.0),
            "near": near,
            "head": float(head),
            "named": len(stems & named) / len(stems) if stems else 0.0,
            "length": math.log1p(len(candidate.text.split())),
            "in_top_sentence": float(bool(last.search(evidence[0].sentence.text))),
        }

    def evidence(self, question: str, passages: list[ScoredChunk]) -> list[Evidence]:
        """The sentences in the order the reader trusts them: the picked answer's first, then
        the other voted answers' sentences, then the rest by support."""
        reading = self.read(question, passages)
        first: list[Evidence] = [reading.pick.evidence] if reading.pick else []
        first += [e for vote in reading.votes[:3] for _, e, _ in vote.backing[:2]]
        ordered = list(dict.fromkeys([*first, *reading.evidence]))
        return ordered

    def vote(
        self, question: str, wanted: Asked, evidence: list[Evidence], pool: float | None = None
    ) -> list[Vote]:
        """Candidates of the asked kind in the best sentences (those within `pool` of the best
        support, `vote_pool` by default), variants merged, best first."""
        settings = self.settings
        pool = settings.vote_pool if pool is None else pool
        floor = evidence[0].support * pool if evidence else 0.0
        sentences = [e for e in evidence[: settings.reader_sentences] if e.support >= floor > 0]
        currencies = _currencies_named(question)
        weights = accepts().get(wanted.kind or "", {})
        named = set(terms(self.vocabulary.expand(question)))
        within = gazetteer().with_provinces(named)
        surnames = _lone_names(question)
        question_weights_ = question_weights(question, self.vocabulary)
        people = people_in(e.sentence.text for e in sentences)
        inside = names_inside(e.sentence.text for e in evidence)
        votes: dict[str, Vote] = {}
        found_in = [(e, self._candidates(e.sentence.text, wanted, people, inside))
                    for e in sentences]
        if not within and wanted.kind == "place" and wanted.head in words()[
                "place_heads_province"]:  # "which state": of the country the evidence is about
            within = gazetteer().most_provinces_named(
                c.text for _, found in found_in for c in found)
        for e, found in found_in:
            text = e.sentence.text
            for candidate in found:
                weight = weights.get(candidate.kind, 0.0) * candidate.fit
                stems = set(terms(candidate.text))
                if not weight or (stems and stems <= named) or (not stems and not
                                                                  candidate.text[:1].isdigit()):
                    continue
                if candidate.kind == "person" and candidate.text.split()[-1].lower() in surnames:
                    continue  # "Aden Duale" is the "Duale" of "did Duale welcome"
                if wanted.kind == "place" and not fits_place(candidate.text, wanted.head, within):
                    continue
                if candidate.kind == "organisation" and names_other_body(candidate.text,
                                                                          wanted.head):
                    continue  # "University of Cincinnati" is no answer to "which team"
                if wanted.head == "month":  # "which month": "July 26" and "July 24" say July
                    month = MONTH.search(candidate.text)
                    if not month:
                        continue  # "Monday" or "2024" does not say
                    at = candidate.start + month.start()
                    candidate = Candidate(month.group(), "date", at, at + len(month.group()))
                weight *= self._context(candidate, text, question_weights_, wanted.head)
                if wanted.verb and _does(candidate, text, wanted.verb):
                    weight *= settings.subject_boost
                if currencies and candidate.kind == "amount" and not _in_currency(
                    candidate.text, currencies
                ):
                    weight *= 0.3
                vote = votes.setdefault(candidate.key, Vote(candidate.key, candidate.kind))
                vote.backing.append((e.support * weight, e, candidate))
        merged = self._merge(list(votes.values()))
        for vote in merged:
            vote.backing.sort(key=lambda b: -b[0])
            best_by_article: dict[str, float] = {}
            for contribution, e, _ in vote.backing:
                source = e.sentence.chunk.chunk.source
                best_by_article[source] = max(best_by_article.get(source, 0.0), contribution)
            ranked = sorted(best_by_article.values(), reverse=True)
            vote.score = sum(s * settings.vote_decay**i for i, s in enumerate(ranked))
        return sorted(merged, key=lambda v: -v.score)

    def _candidates(self, sentence: str, wanted: Asked, people: set[str],
                    inside: set[str]) -> list[Candidate]:
        """The sentence's candidates of the asked kind's sort: counts of the counted noun,
        numbers, or names (and common nouns for an open head noun)."""
        if wanted.kind == "count":
            return counts(sentence, wanted.counted)
        if wanted.kind in NUMERIC:
            return numeric_candidates(sentence)
        found = name_candidates(sentence, people, inside)
        if wanted.kind in OPEN_KINDS and wanted.head:
            found += self._common_nouns(sentence, wanted.head)
        return found

    def _common_nouns(self, sentence: str, head: str) -> list[Candidate]:
        """The sentence's common words as like the head noun as `category_floor` or more,
        each with its likeness as its fit ("sheep" for "which animal")."""
        found = common_nouns(sentence, head)
        likeness = sentence_similarity(head, [c.text for c in found])
        settings = self.settings
        out = []
        for candidate, like in zip(found, likeness, strict=True):
            if like < settings.category_floor:
                continue
            rarity = max((self.vocabulary.rarity(t) for t in terms(candidate.text)), default=0.0)
            specific = (rarity - settings.category_common) / (
                settings.category_rare - settings.category_common)
            fit = min(1.0, like / settings.category_full) * min(1.0, specific)
            if fit > 0:
                out.append(replace(candidate, fit=fit))
        return out

    def _context(self, candidate: Candidate, sentence: str, weights: dict[str, float],
                 head: str | None) -> float:
        """More weight for a candidate the question's own words stand close to, the rarer and
        the more of them the more ("UK counterpart, James Heapey" for "who is the UK minister"),
        and for one its head noun names ("Operation Linda Nchi" for "what was the operation
        called")."""
        local, named_by_head = self._closeness(candidate, sentence, weights, head)
        boost = 1.0 + (self.settings.context_boost - 1.0) * 2 * local
        if named_by_head and head and _beside(candidate, sentence, head):
            return boost * self.settings.head_beside_boost  # "restaurant chain Red Lobster"
        return boost * self.settings.context_boost if named_by_head else boost

    def _closeness(self, candidate: Candidate, sentence: str, weights: dict[str, float],
                   head: str | None) -> tuple[float, bool]:
        """The share of the question's words (by rarity) standing next to a candidate, and
        whether the question's head noun does (or the candidate holds it)."""
        near = self._near(candidate, sentence)
        total = sum(weights.values()) or 1.0
        local = sum(w for t, w in weights.items() if t in near) / total
        return local, bool(head and (head[:5] in candidate.text.lower()
                                     or head_terms(head) & near))

    def _near(self, candidate: Candidate, sentence: str) -> set[str]:
        """The stems within `context_words` of a candidate in its sentence."""
        reach = self.settings.context_words
        near = set(terms(" ".join(sentence[: candidate.start].split()[-reach:])))
        return near | set(terms(" ".join(sentence[candidate.end :].split()[:reach])))

    def _merge(self, votes: list[Vote]) -> list[Vote]:
        """Fold each variant into the longest answer that contains its words and ends with the
        same word ("Humphries" → "Luke Humphries"), a date into a fuller one ("September" →
        "September 26, 2023"), and an acronym into its long form."""
        by_length = sorted(votes, key=lambda v: -len(v.key.split()))
        acronyms = {a.lower(): long.lower() for a, long in self.vocabulary.acronyms.items()}
        kept: list[Vote] = []
        for vote in by_length:
            tokens = vote.key.split()
            home = next(
                (
                    k
                    for k in kept
                    if (set(tokens) < set(k.key.split()) and (
                        k.key.split()[-1] == tokens[-1] or vote.kind == k.kind == "date"
                        or (vote.kind == k.kind == "person" and len(tokens) == 1
                            and k.key.split()[0] == tokens[0])))
                    or acronyms.get(vote.key, "\0").startswith(k.key)
                    or k.key.startswith(acronyms.get(vote.key, "\0"))
                ),
                None,
            )
            if home is None:
                kept.append(vote)
            else:
                home.backing.extend(vote.backing)
                if home.kind == "name" and vote.kind != "name":
                    home.kind = vote.kind
        return kept

    def _expansion(
        self, wanted: Asked, evidence: list[Evidence], passages: list[ScoredChunk]
    ) -> Pick | None:
        """"What does X stand for": the sentence that defines X, and its long form. The long
        form is read from a definition in the articles, here or when the indexes were built, so
        it is certain (confidence 1), not weighed by the calibrated model."""
        acronym = wanted.acronym or ""
        for e in evidence:
            for found, long_form in harvest_acronyms(e.sentence.text):
                if found == acronym:
                    return Pick(e, long_form, 1.0)
        known = self.vocabulary.acronyms.get(acronym)
        if known:
            for e in evidence:
                if known in e.sentence.text:
                    return Pick(e, known, 1.0)
        return None

    def answer(
        self, question: str, passages: list[ScoredChunk], articles: dict[str, dict[str, str]]
    ) -> Answer:
        """The short answer and its evidence with [n] markers, or the refusal.

        Each part of a compound question is answered on its own.
        """
        picks: list[Pick] = []
        for part in split_question(question):
            reading = self.read(part, passages)
            for pick in self._picks(part, reading, articles):
                if pick.short or all(p.evidence.sentence != pick.evidence.sentence
                                     for p in picks):
                    picks.append(pick)
        if not picks:
            return Answer(
                question=question,
                text=REFUSAL_TEXT,
                refused=True,
                passages=passages,
                answerer=self.name,
            )
        return compose(question, picks, passages, articles, self.name)

    def _picks(self, question: str, reading: Reading, articles: dict[str, dict[str, str]]
               ) -> list[Pick]:
        """What a question (part) is answered with, each pick sure enough: its pick (with the
        figures other articles give), or, when it asks for several ("which two teams"), that
        many of the best-voted answers, none when fewer are sure enough (one of two answers
        does not answer it); a sentence answer stands, as it may list them all."""
        pick = reading.pick
        least = self.settings.min_confidence
        if pick is None or pick.confidence < least:
            return []
        if pick.short and reading.asked.kind in QUANTITY_KINDS:
            pick = self._with_rivals(question, pick, reading, articles)
        wanted = reading.asked.several
        if wanted == 1 or not pick.short:  # a sentence answer may itself list them
            return [pick]
        others = [self._pick_of(question, reading, vote) for vote in reading.votes[1:wanted]]
        if len(others) < wanted - 1 or any(p.confidence < least for p in others):
            return []
        return [pick, *others]

    def _pick_of(self, question: str, reading: Reading, vote: Vote) -> Pick:
        """Another voted answer as a pick: its best sentence, its longest form there, and how
        likely it would be right were it the answer."""
        _, evidence, candidate = vote.backing[0]
        short = longest_variant_in(vote, evidence) or candidate.text
        return Pick(evidence, short, self._confidence_of(question, reading, vote))

    def _with_rivals(
        self, question: str, pick: Pick, reading: Reading, articles: dict[str, dict[str, str]]
    ) -> Pick:
        """The pick with the figures other articles give for the same question, when they are
        nearly as well voted (among sentences within `rival_pool` of the best support) and
        differ; the newest figure leads when they are updates."""
        assert pick.short is not None and reading.asked.kind is not None
        kind = reading.asked.kind
        votes = self.vote(question, reading.asked, reading.evidence, self.settings.rival_pool)
        top_text = pick.evidence.sentence.text
        at = top_text.find(pick.short)
        own = quantity(pick.short, kind, top_text[at + len(pick.short):], top_text[:at])
        margin = self.settings.figure_estimate_margin
        source = pick.evidence.sentence.chunk.chunk.source
        if own is None or not votes:
            return pick
        best = votes[0].backing[0][0]
        weights = question_weights(question, self.vocabulary)
        named = set(weights)
        _, top_evidence, top_candidate = votes[0].backing[0]
        said = self._near(top_candidate, top_evidence.sentence.text) & named
        top_names = _names(top_evidence.sentence.text, named)
        rivals: list[Rival] = []
        seen = [own]
        for vote in votes:
            contribution, evidence, candidate = vote.backing[0]
            other_source = evidence.sentence.chunk.chunk.source
            if contribution < self.settings.currency_share * best or other_source == source or \
                    any(r.evidence.sentence.chunk.chunk.source == other_source for r in rivals):
                continue
            text = evidence.sentence.text
            value = quantity(candidate.text, kind, text[candidate.end:], text[:candidate.start])
            if value is None or not all(
                differ(value, s, margin) or value.unit != s.unit for s in seen
            ):
                continue
            how = relation(own, value, articles.get(source, {}).get("date", ""),
                           articles.get(other_source, {}).get("date", ""), margin)
            # the same words and names around both figures: one fact told twice, not another
            same_fact = len(said & self._near(candidate, evidence.sentence.text)) >= max(
                2, self.settings.rival_overlap * len(said)
            ) and _overlap(top_evidence.sentence.text, evidence.sentence.text) >= (
                self.settings.rival_overlap
            ) and _same_subject(top_names, _names(evidence.sentence.text, named))
            if how and ((how == "currencies" and _question_overlap(
                weights, top_evidence.sentence.text, evidence.sentence.text
            ) >= self.settings.rival_overlap) or (
                contribution >= self.settings.rival_share * best and same_fact
                and self._confidence_of(question, reading, vote)
                >= self.settings.min_confidence
            )):
                short = longest_variant_in(vote, evidence) or candidate.text
                rivals.append(Rival(evidence, short, how))
                seen.append(value)
        if not rivals:
            return pick
        newest = max([(articles.get(source, {}).get("date", ""), None),
                      *((articles.get(r.evidence.sentence.chunk.chunk.source, {}).get("date", ""),
                         r) for r in rivals if r.relation == "update")],
                     key=lambda d: d[0])[1]
        if newest is not None:  # an update: the newest figure is the answer
            others = [Rival(pick.evidence, pick.short, "update"),
                      *(r for r in rivals if r is not newest)]
            return Pick(newest.evidence, newest.short, pick.confidence, tuple(others))
        return Pick(pick.evidence, pick.short, pick.confidence, tuple(rivals))

    def _confidence_of(self, question: str, reading: Reading, vote: Vote) -> float:
        """How likely another voted answer would be right were it the answer: the same
        calibrated model, on that answer's evidence, with the pick as its runner-up. A rival
        figure the reader would itself refuse is no conflict or update worth showing (a sum in
        another currency claims neither, and is shown as given)."""
        others = [v for v in reading.votes if v.key != vote.key]
        features = self.features(question, reading.asked, reading.evidence, [vote, *others], False)
        return self.confidence(features)

    def stream(
        self, question: str, passages: list[ScoredChunk], articles: dict[str, dict[str, str]]
    ) -> Iterator[str | Answer]:
        """The whole answer text at once (extraction has nothing to stream), then the Answer."""
        answer = self.answer(question, passages, articles)
        yield answer.text
        yield answer


def _does(candidate: Candidate, sentence: str, verb: str) -> bool:
    """Whether the sentence has the candidate do the question's verb (its stem): the verb
    within five words after it, in its clause ("Luke Humphries, 28, beat ..."), or the
    candidate right after "by" with the verb just before ("were recalled by Toyota"; the stem
    must be the same: "beaten" is not "beat")."""
    stem = english_stemmer().stemWord
    after = re.split(r"[.;:!?]", sentence[candidate.end:], maxsplit=1)[0].split()[:5]
    if any(stem(w.strip(",\"“”").lower()) == verb for w in after):
        return True
    before = sentence[: candidate.start].split()[-4:]
    return bool(before) and before[-1].lower() == "by" and any(
        stem(w.strip(",").lower()) == verb for w in before[:-1])


def _beside(candidate: Candidate, sentence: str, head: str) -> bool:
    """Whether the head noun names the candidate itself: it ends it ("Rapidan Dam", not "City
    Hall" for "which city"), or it stands right before it ("actor Gina Carano", "restaurant
    chain Red Lobster"), titles aside ("Spokesman Lieutenant Colonel Kenneth L. Hoffman")."""
    stems = head_terms(head)
    if stems & set(terms(candidate.text.split()[-1])):
        return True
    for word in reversed(sentence[: candidate.start].split()[-4:]):
        if stems & set(terms(word)):
            return True
        if not is_title(word):
            return False
    return False


def _lone_names(question: str) -> set[str]:
    """The question's one-word names used as a person ("did Duale welcome"), lower-cased: a
    capitalised word, not the question's first, between two lower-case words and not after
    "the" ("the Biden family" names a family, not the person)."""
    tokens = question.split()
    return {
        word.lower().strip("?,.")
        for i, word in enumerate(tokens[1:-1], start=1)
        if word[:1].isupper() and word[1:].islower() and tokens[i - 1].islower()
        and tokens[i - 1].lower() != "the" and tokens[i + 1][:1].islower()
    }


def _overlap(a: str, b: str) -> float:
    """Share of the shorter sentence's informative words that the other holds too."""
    ta, tb = set(terms(a)), set(terms(b))
    return len(ta & tb) / max(1, min(len(ta), len(tb)))


def _names(text: str, named: set[str]) -> set[str]:
    """The stems of the names a sentence holds beyond those the question names (`named`)."""
    return {t for c in name_candidates(text, set()) for t in terms(c.text)} - named


def _same_subject(own: set[str], theirs: set[str]) -> bool:
    """Whether two sentences, by their names beyond the question's (`_names`), can give a
    figure for one subject: the names must share a word when both hold some ("67% of Utah
    adults" and "70% of America's adults" are two subjects, not a conflict)."""
    return not own or not theirs or bool(own & theirs)


def _question_overlap(weights: dict[str, float], sentence: str, other: str) -> float:
    """Share (by rarity) of the question's words in a sentence that another sentence holds too:
    a sum in another currency is the same sum only where both sentences speak of the same
    thing, not wherever another article names some sum."""
    own = [t for t in set(terms(sentence)) if t in weights]
    total = sum(weights[t] for t in own)
    theirs = set(terms(other))
    return sum(weights[t] for t in own if t in theirs) / total if total else 0.0


def _currencies_named(question: str) -> set[str]:
    """The currencies a question asks the amount in ("how much in shillings")."""
    lowered = question.lower()
    return {
        name for name in currency_signs() if re.search(rf"\b{name}s?\b", lowered)
    }


def _in_currency(amount: str, currencies: set[str]) -> bool:
    signs = currency_signs()
    lowered = amount.lower()
    return any(
        amount.startswith(tuple(signs[c])) or re.search(rf"\b{c}s?\b", lowered)
        for c in currencies
    )


def _fuller_form(
    vote: Vote, short: str, best: Evidence, evidence: Sequence[Evidence]
) -> tuple[Evidence, str] | None:
    """A sentence that gives a person's name in more words than `short` ("Simone Biles" for
    "Biles is the most decorated gymnast"), its own article's first, and that form; None when
    none does or the answer is no person's name. Only plain capitalised words before the name
    count ("LeBron", "O'Brien", "José" are): not a title, a common word, a possessive, a
    hyphenated or an all-capital word ("Sen. John Thune" gives "John Thune", "China's Xi"
    nothing), nor a sentence's first word, which any word may be ("Picking Salt Lake City"),
    nor the end of a title ("Secretary of Defense Lloyd Austin" gives nothing)."""
    if vote.kind not in ("person", "name") or short[:1].isdigit():
        return None
    fuller = re.compile(rf"(?<![\w’'])((?:[A-Z][\w’'.-]*\s+){{1,3}}){re.escape(short)}(?![\w’'])")
    lexicon = words()

    def plain_name_word(word: str) -> bool:
        lowered = word.lower().strip(".,")
        letters = re.sub(r"['’](?=[A-Z])", "", word)
        name_like = letters.isalpha() and letters[0].isupper() and not letters.isupper()
        return (name_like or bool(re.fullmatch(r"[A-Z]\.", word))) and not (
            lowered in lexicon["person_titles"] or lowered in _stopwords())

    source = best.sentence.chunk.chunk.source
    for e in sorted(evidence, key=lambda e: e.sentence.chunk.chunk.source != source):
        text = e.sentence.text
        for match in fuller.finditer(text):
            before = match.group(1).split()
            cut = max((i + 1 for i, w in enumerate(before) if not plain_name_word(w)), default=0)
            if cut == len(before):
                continue
            start = match.start(1) + len(" ".join(before[:cut])) + (1 if cut else 0)
            preceding = [w.lower().strip(".,") for w in text[:start].split()[-2:]]
            if preceding[-1:] == ["of"] and preceding[0] in lexicon["person_titles"]:
                continue  # "Secretary of Defense Lloyd Austin": the title runs on
            if text[:start].strip(OPENERS) and text.startswith(before[cut], start):
                return e, text[start : match.end()]
    return None


def _named_in_full(vote: Vote, short: str) -> tuple[Evidence, str] | None:
    """For a person voted for by first name alone here ("Lloyd's Austin" in a caption), the
    sentence of the vote that names them in full ("Lloyd J. Austin"), and that name."""
    if vote.kind != "person" or " " in short:
        return None
    full = [(e, c.text) for _, e, c in vote.backing
            if " " in c.text and c.text.split()[0] == short]
    return max(full, key=lambda found: len(found[1])) if full else None


def longest_variant_in(vote: Vote, evidence: Evidence) -> str | None:
    """The longest form of the voted answer that the sentence itself holds."""
    forms = sorted({c.text for _, e, c in vote.backing if e is evidence}, key=len, reverse=True)
    return forms[0] if forms else None


def self_contained(sentence: Sentence) -> tuple[int, int]:
    """The sentence's span, widened to the sentence before it when it opens by pointing back
    ("He said", "Austin also ...", "However, ..."); offsets stay article offsets."""
    tokens = [t.lower() for t in WORD.findall(sentence.text)[:3]]
    openers = words()["pointing_openers"]
    pointing = bool(tokens) and (
        tokens[0] in openers or " ".join(tokens[:2]) in openers or "also" in tokens[1:3]
    )
    if not pointing:
        return sentence.start, sentence.end
    chunk = sentence.chunk.chunk
    local = sentence.start - chunk.start
    before = [s for s in sentence_spans(chunk.text) if s[1] <= local]
    if not before or "\n\n" in chunk.text[before[-1][1] : local]:
        return sentence.start, sentence.end
    return chunk.start + before[-1][0], sentence.end


def compose(
    question: str,
    picks: Sequence[Pick],
    passages: list[ScoredChunk],
    articles: dict[str, dict[str, str]],
    answerer: str,
) -> Answer:
    """Each part's short answer first, then its evidence with its citation marker, then what
    other sources give for it; a short answer is checked to be a literal span of its quote."""
    citations: list[Citation] = []
    parts: list[str] = []
    shorts: list[str] = []
    disagreements: list[Disagreement] = []

    def cite(sentence: Sentence) -> tuple[Citation, bool]:
        """The citation of a sentence (made self-contained), and whether it is new."""
        chunk = sentence.chunk.chunk
        start, end = self_contained(sentence)
        same = next((c for c in citations if (c.source, c.start) == (chunk.source, start)), None)
        if same is not None:
            return same, False
        meta = articles.get(chunk.source, {})
        citation = Citation(
            n=len(citations) + 1,
            title=chunk.title,
            source=chunk.source,
            quote=chunk.text[start - chunk.start : end - chunk.start],
            start=start,
            end=end,
            publisher=meta.get("publisher", ""),
            date=meta.get("date", chunk.date),
            url=meta.get("url", ""),
        )
        citations.append(citation)
        return citation, True

    def marked(sentence: Sentence) -> tuple[str, Citation]:
        """The sentence's quote with its [n] (only the [n] when cited already), its citation."""
        citation, new = cite(sentence)
        quote, n = citation.quote, citation.n
        if not new:
            return f"[{n}]", citation
        shown = f"{quote[:-1]} [{n}]{quote[-1]}" if quote[-1] in ".!?" else f"{quote} [{n}]"
        return shown, citation

    for pick in picks:
        shown, citation = marked(pick.evidence.sentence)
        quote = citation.quote
        if pick.named_in is not None:
            named, named_citation = marked(pick.named_in.sentence)
            shown, quote = f"{shown} {named}", f"{quote} {named_citation.quote}"
        short = pick.short if pick.short and pick.short in quote else None
        if short:
            shorts.append(short)
            parts.append(f"{short} — {shown}")
        else:
            parts.append(shown)
        if short and pick.rivals:
            disagreement = _disagreement(short, citation, pick.rivals, cite)
            if disagreement is not None:
                disagreements.append(disagreement)
                parts.append(_said(disagreement))
    return Answer(
        question=question,
        text=" ".join(parts),
        refused=False,
        citations=citations,
        passages=passages,
        answerer=answerer,
        short="; ".join(dict.fromkeys(shorts)) or None,
        confidence=min(p.confidence for p in picks),
        disagreements=disagreements,
    )


def _disagreement(
    short: str,
    citation: Citation,
    rivals: Sequence[Rival],
    cite: Callable[[Sentence], tuple[Citation, bool]],
) -> Disagreement | None:
    """The pick's figure and its rivals' as data, each with its citation, newest first."""
    values = [SourcedValue(short, citation.n, citation.source, citation.date)]
    for rival in rivals:
        cited, _ = cite(rival.evidence.sentence)
        if rival.short in cited.quote:
            values.append(SourcedValue(rival.short, cited.n, cited.source, cited.date))
    if len(values) < 2:
        return None
    kinds = {r.relation for r in rivals}
    kind = "conflict" if "conflict" in kinds else "update" if "update" in kinds else "currencies"
    values.sort(key=lambda v: v.date, reverse=True)
    return Disagreement(kind, tuple(values))


def _said(disagreement: Disagreement) -> str:
    """The disagreement in words, after the answer."""
    def one(v: SourcedValue) -> str:
        return f"{v.value} [{v.n}]" + (f" ({v.date})" if v.date else "")

    listed_values = "; ".join(one(v) for v in disagreement.values)
    if disagreement.kind == "currencies":
        return f"The sources give it in different currencies: {listed_values}."
    if disagreement.kind == "update":
        return f"The figure changed over time, newest first: {listed_values}."
    return f"The sources disagree: {listed_values}."
