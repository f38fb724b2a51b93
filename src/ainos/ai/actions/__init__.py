"""Typed AI actions: a portable Windows.AI.Actions and Windows.AI.Actions.Hosting.

Capabilities of the machine — built in, written in Python, or provided by any program that
speaks JSON — are described by action definition files (Windows' schema, versions 2 and 3),
found by the kinds of data they take, and invoked with typed entities::

    runtime = ActionRuntime()
    text = runtime.entity_factory.create_text_entity("A long report …")
    for instance in runtime.action_catalog.get_actions_for_inputs([text]):
        print(instance.display_info.description)
    context = await runtime.invoke_action("Ainos.CountWords", {"Text": text})

Names and values follow the Windows API, in Python style (``ActionEntityKind.STREAMING_TEXT``
is Windows' ``StreamingText``, 5), so a Windows backend can map one to one.
"""

from ainos.ai.actions._catalog import (
    ActionCatalog,
    ActionInstance,
    ActionInstanceDisplayInfo,
    user_actions_dir,
)
from ainos.ai.actions._context import (
    ActionFeedback,
    ActionInvocationContext,
    ActionInvocationHelpDetails,
    ActionInvoker,
)
from ainos.ai.actions._definition import (
    ActionDefinition,
    ActionEntityRegistrationInfo,
    ActionInvocation,
    ActionOverload,
    InputCombination,
    InvocationType,
)
from ainos.ai.actions._entities import (
    ActionEntity,
    AppointmentActionEntity,
    ArrayActionEntity,
    ContactActionEntity,
    CustomTextActionEntity,
    DateTimeActionEntity,
    DocumentActionEntity,
    FileActionEntity,
    NamedActionEntity,
    PhotoActionEntity,
    RemoteFileActionEntity,
    TableActionEntity,
    TextActionEntity,
    UriActionEntity,
    entity_from_dict,
    entity_from_json,
)
from ainos.ai.actions._expression import (
    Expression,
    ExpressionError,
    Template,
    parse_expression,
    parse_template,
)
from ainos.ai.actions._factory import ActionEntityFactory
from ainos.ai.actions._history import ActionHistory, FeedbackRecord, InvocationRecord
from ainos.ai.actions._kinds import (
    ActionEntityKind,
    ActionEntityTextFormat,
    ActionFeedbackKind,
    ActionInvocationHelpKind,
    ActionInvocationResult,
    RemoteFileKind,
)
from ainos.ai.actions._loader import (
    SUPPORTED_SCHEMA_VERSIONS,
    DefinitionFile,
    DefinitionProblem,
    load_definition_file,
    parse_definitions,
    read_definition_file,
)
from ainos.ai.actions._provider import ActionProvider, FeedbackHandler
from ainos.ai.actions._resolve import ENTRY_POINT_GROUP
from ainos.ai.actions._runtime import ActionRuntime
from ainos.ai.actions._streaming import StreamingTextActionEntity, StreamingTextActionEntityWriter
from ainos.ai.actions._values import PATH_KINDS, entity_from_value, value_schema

__all__ = [
    "ENTRY_POINT_GROUP",
    "PATH_KINDS",
    "SUPPORTED_SCHEMA_VERSIONS",
    "ActionCatalog",
    "ActionDefinition",
    "ActionEntity",
    "ActionEntityFactory",
    "ActionEntityKind",
    "ActionEntityRegistrationInfo",
    "ActionEntityTextFormat",
    "ActionFeedback",
    "ActionFeedbackKind",
    "ActionHistory",
    "ActionInstance",
    "ActionInstanceDisplayInfo",
    "ActionInvocation",
    "ActionInvocationContext",
    "ActionInvocationHelpDetails",
    "ActionInvocationHelpKind",
    "ActionInvocationResult",
    "ActionInvoker",
    "ActionOverload",
    "ActionProvider",
    "ActionRuntime",
    "AppointmentActionEntity",
    "ArrayActionEntity",
    "ContactActionEntity",
    "CustomTextActionEntity",
    "DateTimeActionEntity",
    "DefinitionFile",
    "DefinitionProblem",
    "DocumentActionEntity",
    "Expression",
    "ExpressionError",
    "FeedbackHandler",
    "FeedbackRecord",
    "FileActionEntity",
    "InputCombination",
    "InvocationRecord",
    "InvocationType",
    "NamedActionEntity",
    "PhotoActionEntity",
    "RemoteFileActionEntity",
    "RemoteFileKind",
    "StreamingTextActionEntity",
    "StreamingTextActionEntityWriter",
    "TableActionEntity",
    "Template",
    "TextActionEntity",
    "UriActionEntity",
    "entity_from_dict",
    "entity_from_json",
    "entity_from_value",
    "load_definition_file",
    "parse_definitions",
    "parse_expression",
    "parse_template",
    "read_definition_file",
    "user_actions_dir",
    "value_schema",
]
