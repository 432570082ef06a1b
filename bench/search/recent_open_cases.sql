-- Realistic ages: open cases were received in the last 60 days (most of them on time, some overdue).
\set ON_ERROR_STOP on
UPDATE cases SET received_at = now() - (id % 60) * interval '1 day' - (id % 86400) * interval '1 second',
       registered_at = CASE WHEN registered_at IS NOT NULL THEN now() - (id % 60) * interval '1 day' + interval '1 day' END,
       action_due_on = CASE WHEN action_due_on IS NOT NULL THEN (now() - (id % 60) * interval '1 day' + interval '7 day')::date END
WHERE state NOT IN ('closed', 'rejected', 'referred') AND number LIKE 'XB%';
UPDATE orders o SET sent_at = c.received_at + interval '2 day', sign_due_on = (c.received_at + interval '4 day')::date,
       due_on = (c.received_at + interval '9 day')::date,
       signed_at = CASE WHEN o.signed_at IS NOT NULL THEN c.received_at + interval '3 day' END,
       reported_at = CASE WHEN o.reported_at IS NOT NULL THEN c.received_at + interval '8 day' END
FROM cases c WHERE c.id = o.case_id AND c.state NOT IN ('closed', 'rejected', 'referred') AND o.kind = 'verification' AND c.number LIKE 'XB%';
UPDATE orders o SET sent_at = c.received_at + interval '12 day', sign_due_on = (c.received_at + interval '14 day')::date,
       due_on = (c.received_at + interval '19 day')::date,
       signed_at = CASE WHEN o.signed_at IS NOT NULL THEN c.received_at + interval '13 day' END,
       reported_at = CASE WHEN o.reported_at IS NOT NULL THEN c.received_at + interval '18 day' END,
       accepted_at = CASE WHEN o.accepted_at IS NOT NULL THEN c.received_at + interval '19 day' END
FROM cases c WHERE c.id = o.case_id AND c.state NOT IN ('closed', 'rejected', 'referred') AND o.kind = 'supervision' AND c.number LIKE 'XB%';
DELETE FROM chase_steps WHERE reason = '逾期提请上级督办';
UPDATE orders SET chase_level = 0 WHERE chase_level = 3 AND number LIKE 'H_20%' AND number ~ '^H[BD]';
INSERT INTO chase_steps (subject, step, deadline, due_on, case_id, order_id, target_unit_id, reason, created_at)
SELECT 'order:' || o.id, 'escalate', 'complete', o.due_on, o.case_id, o.id, u.parent_id, '逾期提请上级督办', now()
FROM orders o JOIN units u ON u.id = o.issuing_unit_id
WHERE o.state IN ('sent','signed','relayed') AND o.due_on < current_date - 10 AND o.id % 3 = 0 AND o.number ~ '^H[BD]';
UPDATE orders SET chase_level = 3 WHERE id IN (SELECT order_id FROM chase_steps WHERE reason = '逾期提请上级督办');
ANALYZE;
