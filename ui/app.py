"""The page: a chat tab (chat, settings, document view), a documents tab and an evaluate tab, wired to
the handlers."""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.components.chatbot import ExampleMessage

from rag.ingest import KINDS
from rag.library import Library
from ui.chat import EXTRACTIVE, GENERATIVE, Chat
from ui.documents import Documents
from ui.evaluate import MAX_QUESTIONS, QUESTION_KINDS, Evaluate
from ui.render import DOCUMENT_HEADERS, SCORE_HEADERS, SUMMARY_HEADERS
from ui.temp_files import SWEEP

# Seed questions the extractive answerer gets right, each shown only when its article is indexed.
EXAMPLES = [
    ("Who chaired the inquiry into the Cleveland child abuse cases?", "001_9915dc2b03620208.txt"),
    ("How often is a child killed by a parent in England and Wales?", "002_325d7f82ffdefe65.txt"),
    ("Which council was Sir Merrick Cockell the leader of?", "000_44c9ebb48a3e38a5.txt"),
    ("Which charities warned that moving children far away can be traumatic?", "001_9915dc2b03620208.txt"),
]

SHOW_SCORES = "Show all retrieved passages with their stage scores"

CSS = """
#docview .doc-title { font-weight: 600; margin-bottom: .5em; }
#docview .doc-panes { display: flex; flex-wrap: wrap; gap: .75em; }
#docview .doc-text { position: relative; max-height: 60vh; overflow-y: auto; white-space: pre-wrap;
  border: 1px solid var(--border-color-primary); padding: .75em; border-radius: 6px; flex: 1 1 18em; }
#docview .doc-page { flex: 1 1 18em; margin: 0; max-height: 60vh; overflow-y: auto; }
#docview .doc-page img { width: 100%; border: 1px solid var(--border-color-primary); }
#chat .sources-title { font-weight: 600; margin: .6em 0 .2em; }
#chat details.source summary { cursor: pointer; }
mark { background: #ffe066; color: inherit; }
strong.short { background: #ffc53d; font-weight: 700; }
.short-answer { font-size: 1.05em; margin: 0 0 .4em 0; }
#chat .unsupported { text-decoration: underline wavy #c0392b; }
#chat .unsupported small { color: #c0392b; }
#chat .note { font-style: italic; margin-bottom: .4em; }
"""

# Scroll the document view to the highlighted span once it is on the page (our own code, no content).
SCROLL_JS = """() => setTimeout(() => {
  const mark = document.querySelector('#docview #cited');
  if (mark) { const box = mark.closest('.doc-text'); box.scrollTop = mark.offsetTop - box.clientHeight / 3; }
}, 50)"""


def build(library: Library) -> gr.Blocks:
    chat_handlers, doc_handlers, eval_handlers = Chat(library), Documents(library), Evaluate(library)
    indexed = {d["doc"] for d in library.documents()}
    examples = [ExampleMessage(text=q) for q, doc in EXAMPLES if doc in indexed]
    private: dict[str, Any] = {"api_visibility": "private"}  # only /ask is for clients
    with gr.Blocks(title="citerag", analytics_enabled=False, delete_cache=SWEEP) as demo:
        gr.Markdown("## citerag\nAsk about the indexed documents: every answer sentence cites its source.")
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    elem_id="chat",
                    label="Chat",
                    height=520,
                    latex_delimiters=[],
                    examples=examples or None,
                    placeholder="Ask a question about the documents.",
                )
                msg = gr.Textbox(elem_id="msg", show_label=False, placeholder="Ask a question, press Enter")
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="ask")
                    new = gr.Button("New chat", elem_id="new-chat")
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    k = gr.Slider(1, 20, value=library.config.k, step=1, label="Passages per answer (top-k)")
                    rerank = gr.Checkbox(value=library.config.rerank != "none", label="Rerank the candidates")
                    mode = gr.Radio(
                        [EXTRACTIVE, GENERATIVE], value=EXTRACTIVE, label="Answer mode", elem_id="mode"
                    )
                    show_scores = gr.Checkbox(False, label=SHOW_SCORES)
                scores = gr.Dataframe(
                    headers=SCORE_HEADERS, visible=False, interactive=False, wrap=True, elem_id="scores"
                )
            with gr.Column(scale=2):
                pick = gr.Radio([], label="View document: sources of the latest answer", elem_id="sources")
                docview = gr.HTML(elem_id="docview")
        with gr.Tab("Documents"):
            documents = gr.Dataframe(headers=DOCUMENT_HEADERS, interactive=False, elem_id="documents")
            with gr.Row():
                files = gr.File(
                    label=f"Add files ({', '.join(KINDS)}; up to {library.config.max_file_mb:g} MB each)",
                    file_count="multiple",
                    file_types=list(KINDS),
                    elem_id="upload",
                )
                with gr.Column():
                    doomed = gr.Dropdown([], label="Document to remove", elem_id="remove-doc")
                    remove = gr.Button("Remove from the index", variant="stop", elem_id="remove")
            status = gr.Markdown(elem_id="doc-status")
        with gr.Tab("Evaluate"):
            gr.Markdown(
                "Upload questions as JSONL or CSV (`question`, optional `id`, `answers`, `sources`, "
                "`evidence`, `answerable`) to score the answers, as `rag eval` does."
            )
            questions = gr.File(
                label=f"Question file (.jsonl or .csv; up to {MAX_QUESTIONS:,} questions)",
                file_types=list(QUESTION_KINDS),
                elem_id="eval-upload",
            )
            eval_status = gr.Markdown(elem_id="eval-status")
            eval_notes = gr.Markdown(elem_id="eval-notes")
            summary = gr.Dataframe(
                headers=SUMMARY_HEADERS,
                interactive=False,
                visible=False,
                max_height=900,
                elem_id="eval-summary",
            )
            run_files = gr.File(
                label="Run files",
                file_count="multiple",
                interactive=False,
                visible=False,
                elem_id="run-files",
            )
        history, found = gr.State([]), gr.State([])

        answer_in = [msg, chat, history, k, rerank, mode]
        answer_out = [msg, chat, history, found, pick, docview, scores]
        msg.submit(chat_handlers.respond, answer_in, answer_out, **private)
        send.click(chat_handlers.respond, answer_in, answer_out, **private)
        chat.example_select(chat_handlers.example, None, msg, **private).then(
            chat_handlers.respond, answer_in, answer_out, **private
        )
        new.click(chat_handlers.new_chat, None, answer_out, **private)
        pick.input(chat_handlers.show, [pick, found], docview, **private)
        docview.change(None, js=SCROLL_JS, **private)
        mode.change(chat_handlers.mode, mode, mode, **private)
        show_scores.change(lambda on: gr.update(visible=on), show_scores, scores, **private)

        changes: dict[str, Any] = {"concurrency_id": "library", "concurrency_limit": 1, **private}
        table_out = [documents, doomed]
        demo.load(doc_handlers.refresh, None, table_out, **private)
        files.upload(doc_handlers.upload, files, [status, *table_out, files], **changes)
        remove.click(doc_handlers.remove, doomed, [status, *table_out], **changes)
        questions.upload(
            eval_handlers.run,
            questions,
            [eval_status, eval_notes, summary, run_files, questions],
            concurrency_id="evaluate",  # one run at a time; the chat answers meanwhile
            concurrency_limit=1,
            show_progress_on=eval_status,
            **private,
        )

        gr.api(chat_handlers.ask, api_name="ask")
    return demo
