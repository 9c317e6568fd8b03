"""Chinese names of audit actions, shown wherever audit entries are listed."""

from __future__ import annotations

_TREE_ACTIONS = {
    "create": "新建",
    "update": "修改",
    "rename": "改名",
    "move": "移动",
    "retire": "停用",
    "restore": "恢复",
    "delete": "删除",
}

ACTION_LABELS: dict[str, str] = {
    # accounts and sessions
    "login": "登录",
    "login_lock": "登录锁定",
    "setting_change": "修改系统设置",
    "audit_verify": "校验审计链",
    "audit_redact": "审计记录脱敏",
    "reminder_send": "发送待办提醒",
    "backup_create": "备份数据库",
    "backup_restore": "从备份恢复数据库",
    "logout": "退出",
    "password_change": "修改密码",
    "password_reset": "重置密码",
    "user_create": "创建账号",
    "user_activate": "启用/停用账号",
    "scope_add": "增加管理范围",
    "scope_remove": "移除管理范围",
    # organization and places
    **{f"org_{k}": f"{v}党组织" for k, v in _TREE_ACTIONS.items()},
    **{f"place_{k}": f"{v}地点" for k, v in _TREE_ACTIONS.items()},
    "place_group_link": "关联楼栋党小组",
    "place_group_unlink": "取消关联党小组",
    "grid_worker_appoint": "任命网格员",
    "grid_worker_remove": "取消任命网格员",
    "org_import": "导入组织与网格",
    # members
    "member_create": "新建党员记录",
    "member_update": "修改党员信息",
    "member_reveal": "查看完整证件号",
    "member_category_override": "人工调整分类",
    "member_category_clear": "恢复建议分类",
    "member_reclassify": "自动重新分类",
    "member_placement": "调整分配",
    "assignment_bulk_move": "批量调整分配",
    "member_import": "导入花名册",
    "member_export": "导出花名册",
    "export": "导出",
    "stats_export": "导出统计数据",
    # registrations
    "registration_submit": "提交报到",
    "registration_resubmit": "修改后重新提交报到",
    "registration_approve": "通过报到",
    "registration_reject": "不予通过报到",
    "registration_return": "退回报到",
    "registration_purge": "清理过期报到",
    # documents
    "certificate_issue": "发放活动证",
    "certificate_record_in": "登记外地活动证",
    "certificate_reissue": "补发活动证",
    "certificate_reissue_old": "补发后注销旧证",
    "certificate_renew": "活动证续期",
    "certificate_check": "活动证查验",
    "certificate_returned": "活动证交回",
    "certificate_transferred": "活动证转接",
    "certificate_revoked": "注销活动证",
    "certificate_expired": "活动证过期",
    "certificate_print": "打印活动证",
    "certificate_register_export": "导出发证登记簿",
    "document_print": "打印文书",
    "roster_print": "打印名册",
    "transfer_letter_issue": "开具介绍信",
    "transfer_letter_print": "打印介绍信",
    "transfer_letter_return": "登记介绍信回执",
    "received_letter_record": "登记转入介绍信",
    "assessment_save": "保存目标考核定性评价",
    "assessment_export": "导出目标考核表",
    "assessment_print": "打印目标考核表",
    "training_add": "登记技能培训",
    "job_lead_publish": "发布岗位信息",
    "job_referral_add": "登记推荐就业",
    "job_referral_outcome": "登记推荐结果",
    "five_one_evidence": "确认“五个一”事项",
    "received_letter_reply": "登记转入介绍信回执寄出",
    "received_letter_print": "打印转入介绍信回执",
    "print_job_create": "批量打印",
    "print_job_cancel": "取消批量打印",
    "print_job_download": "下载批量打印结果",
    # follow-up work lists (part 1)
    "followup_event_create": "登记组织生活",
    "followup_event_update": "修改组织生活",
    "followup_event_delete": "删除组织生活",
    "followup_attendance": "登记出席情况",
    "thought_report_create": "登记思想汇报",
    "contact_log_create": "记录联系情况",
    # follow-up work lists: dues, lost-contact cases, appraisal
    "dues_standard": "确定党费标准",
    "dues_payment": "登记党费交纳",
    "dues_export": "导出党费名单",
    "lost_contact_open": "登记失联党员",
    "lost_contact_attempt": "记录失联党员查找",
    "lost_contact_stage": "调整失联登记阶段",
    "lost_contact_close": "失联登记验收结案",
    "appraisal_save": "录入民主评议等次",
    # member self-service (app/selfservice)
    "change_request_submit": "党员申请变更信息",
    "change_request_cancel": "撤回信息变更申请",
    "change_request_approve": "通过信息变更申请",
    "change_request_reject": "不通过信息变更申请",
    "member_self_reveal": "党员查看本人完整证件号",
    "certificate_self_download": "党员下载本人活动证",
    "transfer_letter_self_download": "党员下载本人介绍信",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


# Chinese names of the kinds of object audit entries are about (AuditEntry.object_type), in the
# order the audit log's 对象类型 picker lists them.
OBJECT_LABELS: dict[str, str] = {
    "member": "党员",
    "registration": "报到登记",
    "user": "账号",
    "user_scope": "管理范围",
    "grid_worker": "网格员任命",
    "org": "党组织",
    "place": "地点（社区/网格/楼栋）",
    "structure": "组织与网格导入",
    "certificate": "流动党员活动证",
    "certificate_check": "活动证查验",
    "transfer_letter": "组织关系介绍信",
    "print_job": "批量打印",
    "roster": "花名册",
    "org_event": "组织生活",
    "org_event_attendance": "出席记录",
    "thought_report": "思想汇报",
    "contact_log": "联系记录",
    "dues_payment": "党费交纳",
    "lost_contact_case": "失联登记",
    "lost_contact_attempt": "失联查找记录",
    "appraisal": "民主评议",
    "change_request": "信息变更申请",
    "stats": "统计数据",
    "reminder": "待办提醒",
    "setting": "系统设置",
    "database": "数据库",
    "audit_chain": "审计链",
    "system": "系统",
}


def object_label(object_type: str | None) -> str:
    return OBJECT_LABELS.get(object_type or "", object_type or "")
