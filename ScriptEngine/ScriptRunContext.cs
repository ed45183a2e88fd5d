// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script;

/// <summary>
/// The event-specific pseudo-registers of one run (spec 6.4): <c>$context</c>, <c>$buffer</c>, <c>$event_id</c>,
/// <c>$event_tag</c> (= <see cref="EventTagBase"/> + id) and <c>$event_stage</c> (0 = pre, 1 = post). The default value
/// is what <c>?</c>/<c>print</c> see outside an event: everything 0.
/// </summary>
public readonly struct ScriptRunContext
{
    /// <summary>HyperDbg's event tag seed: tag = seed + id (spec 2.1, 8).</summary>
    public const ulong EventTagBase = 0x1000000;

    /// <summary><c>$context</c> (the port number for I/O events, spec 1.5).</summary>
    public ulong Context { get; init; }

    /// <summary><c>$buffer</c>: the action's safe buffer address, 0 if none (spec 3.4).</summary>
    public ulong Buffer { get; init; }

    /// <summary><c>$event_id</c>.</summary>
    public ulong EventId { get; init; }

    /// <summary><c>$event_stage</c>: 0 = pre, 1 = post (spec 4.2).</summary>
    public ulong EventStage { get; init; }

    /// <summary><c>$event_tag</c>: 0 outside an event is not special-cased; it is always base + id.</summary>
    public ulong EventTag => EventTagBase + EventId;
}
