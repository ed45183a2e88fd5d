// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>How a <see cref="ConnectionUri"/> reaches the agent.</summary>
public enum ConnectionKind
{
    /// <summary><c>serial:PATH?baud=N</c>: the framed link on a serial line.</summary>
    Serial = 1,

    /// <summary><c>pipe:NAME</c> or <c>pipe:/abs/path.sock</c>: the framed link on a named pipe or Unix socket.</summary>
    Pipe = 2,

    /// <summary><c>tcp://HOST:PORT</c>: the framed link on raw TCP.</summary>
    Tcp = 3,

    /// <summary><c>grpc://HOST:PORT</c>: gRPC over HTTP/2 cleartext.</summary>
    Grpc = 4,

    /// <summary><c>grpc+unix:/abs/path.sock</c>: gRPC over a Unix socket.</summary>
    GrpcUnix = 5,
}
