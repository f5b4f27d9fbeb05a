//! The member accounts' template, and its digest (a template change is one `~` in the plan).

use super::*;

pub fn digest(template: &str) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(template.as_bytes()))
    )
}

/// The member accounts' template: a forwarding rule on the default bus in every region, and in the
/// home region only (a Condition on the region: IAM is global, a role of the same name in every
/// region would collide) the role it uses, allowed to put events on the central bus only.
pub fn template(t: &Target) -> Value {
    let role = t.names.org_stack_set();
    let bus = t.arns.bus(&t.names.central_bus());
    let pattern: Value = serde_json::from_str(&rule::pattern(t)).unwrap_or(Value::Null);
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "login-alert: forwards this account's sign-in, root and tamper events to the organization's central bus",
        "Conditions": {
            "RoleRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, t.region()]}
        },
        "Resources": {
            "ForwardRole": {
                "Type": "AWS::IAM::Role",
                "Condition": "RoleRegion",
                "Properties": {
                    "RoleName": role,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sts:AssumeRole"
                        }]
                    },
                    "Policies": [{
                        "PolicyName": "put-events-on-the-central-bus",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus}]
                        }
                    }],
                    "Tags": [{"Key": MANAGED_BY.0, "Value": MANAGED_BY.1}]
                }
            },
            "ForwardRule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": role,
                    "Description": "login-alert: sign-in, root and tamper events to the organization's central bus",
                    "EventBusName": "default",
                    "EventPattern": pattern,
                    "State": STATE,
                    "Targets": [{
                        "Id": "login-alert-central-bus",
                        "Arn": bus,
                        "RoleArn": {"Fn::Sub": format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role}")}
                    }]
                }
            }
        }
    })
}
