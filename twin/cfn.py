"""CloudFormation's evaluation of a (SAM-transformed) template, for given parameters.

Conditions, ``Ref`` (parameters, pseudo parameters, resources), ``Fn::GetAtt``,
``Fn::Sub``, ``Fn::If``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split`` and the
condition functions, evaluated the way CloudFormation would. Resources that have
no local counterpart get stand-in physical ids that keep their logical id
readable (``serverless-api-dev-DataTable-twin``).
"""

from __future__ import annotations

import re
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"


class StackError(Exception):
    """The template asks for something the twin does not model; the message says what."""


SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")


class _NoValue:
    """What Ref AWS::NoValue evaluates to: the property or list item is left out."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Evaluator:
    """CloudFormation's evaluation of the transformed template, for given parameters."""

    def __init__(self, template: dict[str, Any], stack_name: str, parameters: dict[str, str]) -> None:
        self.template = template
        self.stack_name = stack_name
        unknown = set(parameters) - set(template.get("Parameters", {}))
        if unknown:
            raise StackError(f"unknown template parameters: {', '.join(sorted(unknown))}")
        defaults = {
            name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.parameters = defaults | parameters
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def resources(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if self.exists(k)}

    def exists(self, logical_id: str) -> bool:
        resource = self.template["Resources"][logical_id]
        return "Condition" not in resource or self.condition(resource["Condition"])

    def condition(self, name: str) -> bool:
        return bool(self.evaluate(self.template["Conditions"][name]))

    def physical_id(self, logical_id: str) -> str:
        resource = self.template["Resources"][logical_id]
        kind = resource["Type"]
        if kind == "AWS::Lambda::Function":
            return f"{self.stack_name}-{logical_id}"
        if kind == "AWS::Lambda::Alias":
            function = resource["Properties"]["FunctionName"]["Ref"]
            name = self.evaluate(resource["Properties"]["Name"])
            return f"{self.function_arn(function)}:{name}"
        if kind == "AWS::ApiGatewayV2::Api":
            # Ten characters, as API Gateway's ids; the WebSocket API's differs from the HTTP API's.
            websocket = resource.get("Properties", {}).get("ProtocolType") == "WEBSOCKET"
            return "twinws0000" if websocket else "twin000000"
        return f"{self.stack_name}-{logical_id}-twin"

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.physical_id(logical_id)}"

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name not in self.template["Resources"]:
            raise StackError(f"Ref to unknown {name}")
        return self.physical_id(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.template["Resources"][logical_id]["Type"]
        if attribute == "Arn" and kind == "AWS::Lambda::Function":
            return self.function_arn(logical_id)
        if attribute.endswith("DomainName"):
            # A host name (CloudFront's, S3's): the app may validate it as one (a CORS origin).
            return f"{self.physical_id(logical_id).lower()}.twin.invalid"
        service = kind.split("::")[1].lower()
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{self.physical_id(logical_id)}/{attribute}"

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(1):
                return "${" + match.group(2) + "}"
            name = match.group(2)
            if name in variables:
                return str(self.evaluate(variables[name]))
            if "." in name and not name.startswith("AWS::") and not name.endswith(".Alias"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return SUB_VARIABLE.sub(replace, text)

    def evaluate(self, value: Any) -> Any:
        """A value with every intrinsic function in it evaluated (AWS::NoValue left out)."""
        if isinstance(value, list):
            evaluated = [self.evaluate(item) for item in value]
            return [item for item in evaluated if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        items = {key: self.evaluate(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(logical_id, attribute)
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.evaluate(when_true if self.condition(condition) else when_false)
        if name == "Fn::Equals":
            left, right = self.evaluate(argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.evaluate(argument[0])
        if name == "Fn::And":
            return all(self.evaluate(argument))
        if name == "Fn::Or":
            return any(self.evaluate(argument))
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self.sub(text, variables)
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.evaluate(items))
        if name == "Fn::Select":
            index, items = argument
            return self.evaluate(items)[int(self.evaluate(index))]
        if name == "Fn::Split":
            separator, text = argument
            return str(self.evaluate(text)).split(separator)
        raise StackError(f"the twin cannot evaluate {name}")
