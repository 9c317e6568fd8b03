"""Import every feature's models so that Alembic and create_all see them."""

from app.assessment.models import AssessmentGrade  # noqa: F401
from app.audit.models import AuditChain, AuditEntry  # noqa: F401
from app.auth.models import User  # noqa: F401
from app.care.models import CareEvent, CarePlan, CareVisit  # noqa: F401, E402
from app.certificates.models import (  # noqa: F401
    Certificate,
    CertificateCheck,
    PrintJob,
    ReceivedLetter,
    TransferLetter,
)
from app.direct.models import (  # noqa: F401
    DutyPost,
    FiveGoodReview,
    HelpPair,
    HelpVisit,
    PostArea,
    PostAssignment,
)
from app.dual.models import (  # noqa: F401
    Claim,
    FeedbackSheet,
    Need,
    OpinionRequest,
    Service,
    SignIn,
)
from app.followup.models import (  # noqa: F401
    Appraisal,
    ContactLog,
    DuesPayment,
    LostContactAttempt,
    LostContactCase,
    OrgEvent,
    OrgEventAttendance,
    ThoughtReport,
)
from app.members.models import ChangeRequest, Member, MemberHistory  # noqa: F401
from app.mobile.models import MobileContact, MobileStation, MobileStationMember  # noqa: F401, E402
from app.organization.models import GridWorker, Org, Place, UserScope  # noqa: F401
from app.ratelimit import RateLimitCounter  # noqa: F401
from app.registration.models import Registration  # noqa: F401
from app.settings import Setting  # noqa: F401
from app.takeover.models import FiveOneEvidence, JobLead, JobReferral, TrainingRecord  # noqa: F401
