// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Frozen;

namespace HyperDbgRemote.Script.Internal;

/// <summary>The <c>$</c> pseudo-registers (spec 6.4, HyperDbg GRAM <c>.PseudoRegisters</c>). Read-only.</summary>
internal enum PseudoRegister
{
    Pid,
    Tid,
    Pname,
    Core,
    Proc,
    Thread,
    Peb,
    Teb,
    Ip,
    Buffer,
    Context,
    EventTag,
    EventId,
    EventStage,
    Time,
    Date,
}

internal static class PseudoRegisterTable
{
    private static readonly FrozenDictionary<string, PseudoRegister> s_byName = new Dictionary<string, PseudoRegister>(StringComparer.Ordinal)
    {
        ["pid"] = PseudoRegister.Pid,
        ["tid"] = PseudoRegister.Tid,
        ["pname"] = PseudoRegister.Pname,
        ["core"] = PseudoRegister.Core,
        ["proc"] = PseudoRegister.Proc,
        ["thread"] = PseudoRegister.Thread,
        ["peb"] = PseudoRegister.Peb,
        ["teb"] = PseudoRegister.Teb,
        ["ip"] = PseudoRegister.Ip,
        ["buffer"] = PseudoRegister.Buffer,
        ["context"] = PseudoRegister.Context,
        ["event_tag"] = PseudoRegister.EventTag,
        ["event_id"] = PseudoRegister.EventId,
        ["event_stage"] = PseudoRegister.EventStage,
        ["time"] = PseudoRegister.Time,
        ["date"] = PseudoRegister.Date,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static bool TryParse(string name, out PseudoRegister pseudo) => s_byName.TryGetValue(name, out pseudo);

    public static IEnumerable<string> Names => s_byName.Keys;
}
